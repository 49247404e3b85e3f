"""whiteboard: sealed Yjs updates, one snapshot per consultation, lock and sequence

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("board_seq", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("board_locked", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    op.create_table(
        "board_updates",
        sa.Column("consultation_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["consultation_id"], ["consultations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("consultation_id", "seq"),
    )
    op.create_table(
        "board_snapshots",
        sa.Column("consultation_id", sa.String(length=32), nullable=False),
        sa.Column("upto_seq", sa.Integer(), nullable=False),
        sa.Column("data_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["consultation_id"], ["consultations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("consultation_id"),
    )


def downgrade() -> None:
    op.drop_table("board_snapshots")
    op.drop_table("board_updates")
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_column("board_locked")
        batch_op.drop_column("board_seq")
