"""Who am I: the credential's workspace, actor, member, role and what it sees."""

from __future__ import annotations

from app.deps import ReadAuth, SessionDep
from app.models.platform.audit import Actor
from app.models.platform.member import MeRead
from app.routers.platform.common import api_router
from app.services.platform import members

router = api_router("members")


@router.get("/me", operation_id="getMe", summary="Show who the credential acts as")
async def get_me(auth: ReadAuth, session: SessionDep) -> MeRead:
    """For a front end after sign-in: the member (with their role) the token or bound
    key acts as, or the API key itself."""
    member = None
    if auth.member_id is not None:
        member = await members.read(
            session, await members.get_member(session, auth.workspace_id, auth.member_id)
        )
    return MeRead(
        workspace_id=auth.workspace_id,
        actor=Actor.model_validate(auth.actor.as_json()),
        member=member,
        role=auth.role,
        scopes=sorted(auth.scopes),
        sees_all=auth.viewer.everything,
    )
