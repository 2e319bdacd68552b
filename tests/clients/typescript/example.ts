// A front end's use of the API through openapi-fetch and the types openapi-typescript
// generates from openapi/openapi.json: `tsc --noEmit` proves the document gives them
// what they need (tests/test_generated_clients.py). Never run, only type-checked.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/rapport";

type Contact = components["schemas"]["ContactRead"];
type Problem = components["schemas"]["Problem"];
type StageChanged = components["schemas"]["ReferralStageChangedEvent"];

const rapport = createClient<paths>({
  baseUrl: "https://rapport.example.com",
  headers: { Authorization: "Bearer <a member token>" },
});

export function explain(problem: Problem): string {
  const fields = (problem.errors ?? []).map((e) => e.loc.join(".")).join(", ");
  return `${problem.status} ${problem.title}: ${problem.detail ?? ""} ${fields}`.trim();
}

export async function createAndRead(): Promise<{ contact: Contact; etag: string | null }> {
  const created = await rapport.POST("/v1/contacts", {
    params: { header: { "Idempotency-Key": "signup-42" } },
    body: { first_name: "Ada", last_name: "Lovelace", segment: "client" },
  });
  if (created.data === undefined) throw new Error(`create failed: ${created.response.status}`);
  const read = await rapport.GET("/v1/contacts/{contact_id}", {
    params: { path: { contact_id: created.data.id } },
  });
  if (read.data === undefined) throw new Error(`read failed: ${read.response.status}`);
  return { contact: read.data, etag: read.response.headers.get("ETag") };
}

export async function clients(cursor?: string): Promise<{ page: Contact[]; next: string | null }> {
  const { data } = await rapport.GET("/v1/contacts", {
    params: { query: { segment: "client", limit: 50, cursor } },
  });
  return { page: data?.data ?? [], next: data?.next_cursor ?? null };
}

export async function markContacted(referralId: string, version: number): Promise<string> {
  const moved = await rapport.POST("/v1/referrals/{referral_id}/transitions", {
    params: { path: { referral_id: referralId }, header: { "If-Match": `"${version}"` } },
    body: { to_stage: "contacted", note: "Called; meeting on Friday." },
  });
  const left = moved.response.headers.get("RateLimit");
  return `${moved.data?.stage ?? "unchanged"} (${left ?? "no limit"})`;
}

export function onWebhook(body: StageChanged): string {
  // A typed event: the referral, its referrer and the suggested message.
  return `${body.data.referrer?.first_name ?? "someone"}: ${body.data.suggested_message ?? ""}`;
}
