"""recurring campaigns: campaigns count their runs and keep the newest run's occurrence; launches are one
per run, keyed (workspace, campaign_id, run), with the occurrence they are for. Existing launches become run 1.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from svc_kit.db import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("runs", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_run_time", UTCDateTime))
    # As the event stream says (so `mkt campaign replay --check` agrees): one run per campaign_started,
    # the newest at that event's time.
    events = sa.table("campaign_events", sa.column("workspace", sa.String), sa.column("campaign_id", sa.String),
                      sa.column("event_type", sa.String), sa.column("occurred_time", UTCDateTime))
    campaigns = sa.table("campaigns", sa.column("workspace", sa.String), sa.column("id", sa.String),
                         sa.column("runs", sa.Integer), sa.column("last_run_time", UTCDateTime))
    connection = op.get_bind()
    started = connection.execute(
        sa.select(events.c.workspace, events.c.campaign_id, sa.func.count(), sa.func.max(events.c.occurred_time))
        .where(events.c.event_type == "campaign_started").group_by(events.c.workspace, events.c.campaign_id)).all()
    for workspace, campaign_id, runs, last in started:
        connection.execute(sa.update(campaigns).where(campaigns.c.workspace == workspace, campaigns.c.id == campaign_id)
                           .values(runs=runs, last_run_time=last))

    with op.batch_alter_table("campaign_launches") as batch:
        batch.add_column(sa.Column("run", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("occurrence_time", UTCDateTime))
    launches = sa.table("campaign_launches", sa.column("start_time", UTCDateTime),
                        sa.column("occurrence_time", UTCDateTime))
    connection.execute(sa.update(launches).values(occurrence_time=launches.c.start_time))
    _primary_key(["workspace", "campaign_id", "run"])


def _primary_key(columns: list[str]) -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":  # no ALTER of a primary key: the table is copied with the new one
        reflected = [sa.Column(name, sa.Integer() if name == "run" else sa.String(63), primary_key=name in columns,
                               nullable=False, **({"server_default": "1"} if name == "run" else {}))
                     for name in ("workspace", "campaign_id", "run")]
        with op.batch_alter_table("campaign_launches", recreate="always", reflect_args=reflected) as batch:
            batch.create_primary_key("pk_campaign_launches", columns)
        return
    name = sa.inspect(connection).get_pk_constraint("campaign_launches")["name"]
    op.drop_constraint(name, "campaign_launches", type_="primary")
    op.create_primary_key("campaign_launches_pkey", "campaign_launches", columns)


def downgrade() -> None:
    launches = sa.table("campaign_launches", sa.column("run", sa.Integer))
    op.get_bind().execute(sa.delete(launches).where(launches.c.run != 1))
    _primary_key(["workspace", "campaign_id"])
    with op.batch_alter_table("campaign_launches") as batch:
        batch.drop_column("occurrence_time")
        batch.drop_column("run")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("last_run_time")
        batch.drop_column("runs")
