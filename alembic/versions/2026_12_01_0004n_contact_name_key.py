"""contacts: a phonetic name key (generated column) so duplicates find similar names

Revision ID: 0004n
Revises: 0004q
Create Date: 2026-12-01 12:00:00

pg_trgm would give trigram similarity, but the embedded PostgreSQL the tests and
``make run`` use ships without it (``pg_available_extensions`` has no pg_trgm), and one
schema must serve every environment. So the key is American Soundex of each word of
``sort_name``, the codes sorted: "Jon Smith" and "John Smyth" both give ``J500 S530``,
first and last name swapped too. It is a plain IMMUTABLE PL/pgSQL function with no
dependency (it calls no other function of ours, so a dump restores whatever the
search_path), used by a stored generated column that every write path keeps in step.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004n"
down_revision: str | None = "0004q"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME_KEY_FUNCTION = r"""
CREATE OR REPLACE FUNCTION rapport_name_key(name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    word text;
    codes text;
    code text;
    previous text;
    c text;
    keys text[] := '{}';
BEGIN
    FOREACH word IN ARRAY regexp_split_to_array(lower(name), '[^[:alnum:]]+') LOOP
        CONTINUE WHEN word = '';
        -- Soundex digits per letter a..z; anything else separates like a vowel.
        codes := translate(word, 'abcdefghijklmnopqrstuvwxyz0123456789',
                                 '01230120022455012623010202..........');
        code := upper(left(word, 1));
        previous := left(codes, 1);
        FOR i IN 2 .. length(word) LOOP
            EXIT WHEN length(code) = 4;
            CONTINUE WHEN substr(word, i, 1) IN ('h', 'w');  -- h, w never separate
            c := substr(codes, i, 1);
            IF c BETWEEN '1' AND '6' AND c <> previous THEN
                code := code || c;
            END IF;
            previous := c;
        END LOOP;
        keys := keys || rpad(code, 4, '0');
    END LOOP;
    RETURN coalesce((SELECT string_agg(k, ' ' ORDER BY k) FROM unnest(keys) AS k), '');
END
$$
"""


def upgrade() -> None:
    op.execute(NAME_KEY_FUNCTION)
    op.add_column(
        "contacts",
        sa.Column(
            "name_key",
            sa.Text(),
            sa.Computed("rapport_name_key(sort_name)", persisted=True),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_contacts_workspace_id_name_key", "contacts", ["workspace_id", "name_key"], unique=False
    )
    op.create_index(
        "ix_contacts_workspace_id_name_norm",
        "contacts",
        ["workspace_id", sa.text("btrim(regexp_replace(sort_name, '[^[:alnum:]]+', ' ', 'g'))")],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_workspace_id_name_norm", table_name="contacts")
    op.drop_index("ix_contacts_workspace_id_name_key", table_name="contacts")
    op.drop_column("contacts", "name_key")
    op.execute("DROP FUNCTION rapport_name_key(text)")
