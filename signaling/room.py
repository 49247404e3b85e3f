"""Inside a consultation: joining the room, media state, the WebRTC relay, moderation,
ending, and the grace period after a dropped connection."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from signaling import rules
from signaling.board import Boards
from signaling.core import (
    Core,
    announce_lobby,
    joined_participant,
    mark_feature,
    member_view,
    names_of,
    participant_view,
    seal_name,
    tell_customer,
)
from signaling.errors import InvalidState, NotAuthorised, NotFound
from signaling.ports import account_room, consultation_room, member_room
from signaling.presence import Member, Rooms
from signaling.protocol import MediaUpdate, ParticipantRef, RtcSignal
from signaling.rules import Actor
from signaling.turn import ice_servers
from storage import stats
from storage.models import (
    Account,
    Consultation,
    ConsultationState,
    Participant,
    ParticipantRole,
    ParticipantStatus,
    new_id,
)
from storage.repositories import (
    AccountRepository,
    ConsultationRepository,
    ParticipantRepository,
    move_participant,
)

log = logging.getLogger(__name__)

OPEN_STATUSES = [ParticipantStatus.waiting, ParticipantStatus.admitted]


class Room:
    def __init__(self, core: Core, boards: Boards | None = None) -> None:
        self.core = core
        self.boards = boards
        self._grace: dict[str, asyncio.Task[None]] = {}

    async def close(self) -> None:
        for task in self._grace.values():
            task.cancel()
        await asyncio.gather(*self._grace.values(), return_exceptions=True)
        self._grace.clear()

    def _cancel_grace(self, participant_id: str) -> bool:
        task = self._grace.pop(participant_id, None)
        if task is None:
            return False
        task.cancel()
        return True

    async def join(self, actor: Actor, sid: str, consultation_id: str) -> dict[str, Any]:
        core = self.core
        async with core.db.session() as s:
            c = await ConsultationRepository(s).get(consultation_id)
            if c is None and actor.is_advisor:
                rules.unknown(rules.check_owner, actor, None)
            if c is None:
                rules.unknown(rules.check_own_consultation, actor, "")
            participants = ParticipantRepository(s)
            # who may come in is checked before anything about the consultation is told
            if actor.is_advisor:
                rules.check_owner(actor, c.advisor_id)
                rules.check_open(c.state)
                me = await self._advisor_participant(participants, c, actor)
            else:
                rules.check_own_consultation(actor, c.id)
                rules.check_open(c.state)
                found = await participants.get(actor.participant_id or "")
                if found is None or found.status != ParticipantStatus.admitted:
                    raise NotAuthorised("you have not been admitted to this consultation")
                me = found
            my_name = (await names_of(core, s, [me]))[me.id]
        resumed = self._cancel_grace(me.id)
        first = core.presence.join(sid, c.id, me.id, Member(str(me.role), my_name))
        if first and not resumed and me.admitted_at is not None:
            core.observer.joined((core.clock() - me.admitted_at).total_seconds())
        servers = ice_servers(core.ice, me.id, core.clock())
        if any("credential" in server for server in servers):
            core.observer.turn_issued()
        await core.notifier.enter_room(sid, consultation_room(c.id))
        await core.notifier.enter_room(sid, member_room(c.id, me.id))
        if first:
            event = "participant_updated" if resumed else "participant_joined"
            data = {"consultation_id": c.id, "participant": member_view(c.id, me.id, core.presence)}
            await core.notifier.emit(event, data, consultation_room(c.id), skip_sid=sid)
        # Who else is there is read only now that this socket is in the room: a participant
        # committed before this read is in the list; one committed after it announces
        # itself to the room, this socket included. (Read first, and someone joining at the
        # same moment could fall between the two and stay unknown.)
        async with core.db.session() as s:
            admitted = await ParticipantRepository(s).of_consultation(
                c.id, [ParticipantStatus.admitted]
            )
            admitted = [p for p in admitted if p.id != me.id]
            names = await names_of(core, s, admitted)
        others = [
            participant_view(c.id, p.id, str(p.role), names[p.id], core.presence) for p in admitted
        ]
        return {
            "self": member_view(c.id, me.id, core.presence),
            "participants": others,
            "consultation": {"id": c.id, "state": str(c.state), "title": c.title},
            # STUN/TURN only now, after admission: short-lived TURN credentials
            "ice_servers": servers,
        }

    async def _advisor_participant(
        self, participants: ParticipantRepository, c: Consultation, actor: Actor
    ) -> Participant:
        assert actor.account_id is not None
        me = await participants.advisor_in(c.id, actor.account_id)
        if me is not None and me.status == ParticipantStatus.admitted:
            return me
        admitted = await participants.count(c.id, ParticipantStatus.admitted)
        rules.check_capacity(admitted, self.core.limits.participants_per_consultation)
        now = self.core.clock()
        if me is not None:
            rules.check_participant_transition(me.status, ParticipantStatus.admitted)
            me.status, me.admitted_at, me.left_at = ParticipantStatus.admitted, now, None
            return me
        account: Account | None = await AccountRepository(participants.session).get(
            actor.account_id
        )
        assert account is not None
        me = Participant(
            id=new_id(),
            consultation_id=c.id,
            role=ParticipantRole.advisor,
            status=ParticipantStatus.admitted,
            account_id=account.id,
            created_at=now,
            admitted_at=now,
        )
        dek = await self.core.vault.dek(participants.session, c.id)
        seal_name(self.core, dek, me, account.display_name)
        return await participants.add(me)

    def _joined(self, sid: str, consultation_id: str) -> str:
        return joined_participant(self.core, sid, consultation_id)

    async def _admitted_elsewhere(self, signal: RtcSignal) -> bool:
        if not self.core.cluster.shared:
            return False
        async with self.core.db.reading() as s:
            p = await ParticipantRepository(s).get(signal.to)
        return (
            p is not None
            and p.consultation_id == signal.consultation_id
            and p.status == ParticipantStatus.admitted
        )

    async def leave(self, sid: str, consultation_id: str) -> dict[str, Any]:
        pid = self._joined(sid, consultation_id)
        async with self.core.db.session() as s:
            await move_participant(
                s,
                pid,
                ParticipantStatus.admitted,
                ParticipantStatus.left,
                left_at=self.core.clock(),
            )
        await self._evict(consultation_id, pid, "left")
        return {}

    async def media(self, sid: str, update: MediaUpdate) -> dict[str, Any]:
        pid = self._joined(sid, update.consultation_id)
        presence = self.core.presence
        presence.set_media(pid, update.audio, update.video)
        data = {
            "consultation_id": update.consultation_id,
            "participant": member_view(update.consultation_id, pid, presence),
        }
        await self.core.notifier.emit(
            "participant_updated", data, consultation_room(update.consultation_id), skip_sid=sid
        )
        return {}

    async def relay(self, sid: str, signal: RtcSignal) -> dict[str, Any]:
        """Relay one WebRTC message to one participant of the same room. Presence decides,
        with no database round trip per message; in a cluster, a recipient who joined on
        another node a moment ago may not be known here yet, and the database decides."""
        cid = signal.consultation_id
        sender = self._joined(sid, cid)
        if signal.to == sender or not (
            self.core.presence.in_room(cid, signal.to) or await self._admitted_elsewhere(signal)
        ):
            raise NotAuthorised("the recipient is not in this consultation's room")
        # Relay before anything else that awaits: the sender's next message (an ICE
        # candidate right after its offer) runs in its own task, and must not overtake this
        # one while the statistics row is written.
        await self.core.notifier.emit(
            "rtc_signal", signal.wire(sender), member_room(cid, signal.to)
        )
        if signal.description is not None:
            for kind in ("audio", "video"):
                if f"m={kind} " in signal.description.sdp:
                    await mark_feature(self.core, signal.consultation_id, kind)
        return {}

    async def remove(self, actor: Actor, ref: ParticipantRef) -> dict[str, Any]:
        async with self.core.db.session() as s:
            c = await ConsultationRepository(s).get(ref.consultation_id)
            if c is None:
                rules.unknown(rules.check_owner, actor, None)
            rules.check_owner(actor, c.advisor_id)
            rules.check_open(c.state)
            p = await ParticipantRepository(s).get(ref.participant_id)
            if p is None or p.consultation_id != c.id:
                raise NotFound("no such participant in this consultation")
            if p.role == ParticipantRole.advisor:
                raise InvalidState("the advisor cannot be removed; end the consultation instead")
            rules.check_participant_transition(p.status, ParticipantStatus.removed)
            if not await move_participant(
                s,
                p.id,
                ParticipantStatus.admitted,
                ParticipantStatus.removed,
                left_at=self.core.clock(),
            ):
                raise InvalidState("this participant is no longer in the consultation")
        await self._evict(c.id, p.id, "removed")
        await tell_customer(self.core, p, "removed")
        return {}

    async def end(self, actor: Actor, consultation_id: str) -> Consultation:
        core = self.core
        async with core.db.session() as s:
            c = await ConsultationRepository(s).get(consultation_id, for_update=True)
            if c is None:
                rules.unknown(rules.check_owner, actor, None)
            rules.check_owner(actor, c.advisor_id)
            c.state = ConsultationState(rules.next_consultation_state(c.state, "ended"))
            c.ended_at = core.clock()
            still_in = await ParticipantRepository(s).of_consultation(c.id, OPEN_STATUSES)
            for p in still_in:
                p.status, p.left_at = ParticipantStatus.left, c.ended_at
            await stats.record(s, c)
        core.features_seen.pop(c.id, None)
        data = {"consultation_id": c.id}
        await core.notifier.emit("consultation_ended", data, consultation_room(c.id))
        if c.advisor_id is not None:
            await core.notifier.emit("consultation_ended", data, account_room(c.advisor_id))
        for p in still_in:
            await self.evicted_here(c.id, p.id)
            await core.cluster.evicted(c.id, p.id)
            if p.role == ParticipantRole.customer:
                await tell_customer(core, p, "ended")
        if self.boards is not None:
            await self.boards.ended(c.id)
        await announce_lobby(core, c)
        return c

    async def _evict(self, consultation_id: str, participant_id: str, reason: str) -> None:
        await self.evicted_here(consultation_id, participant_id)
        await self.core.cluster.evicted(consultation_id, participant_id)
        data = {"consultation_id": consultation_id, "participant_id": participant_id}
        await self.core.notifier.emit(
            "participant_left", {**data, "reason": reason}, consultation_room(consultation_id)
        )

    async def evicted_here(self, consultation_id: str, participant_id: str) -> None:
        """Take a participant's sockets on this node out of the room (also when another
        node removed them or ended the consultation)."""
        self._cancel_grace(participant_id)
        for sid in self.core.presence.evict(consultation_id, participant_id):
            await self.core.notifier.leave_room(sid, consultation_room(consultation_id))
            await self.core.notifier.leave_room(sid, member_room(consultation_id, participant_id))
        if self.boards is not None:
            await self.boards.left(consultation_id, participant_id)

    async def disconnected(self, sid: str) -> None:
        """A socket went away: for each room it was someone's last socket in, tell the room
        and start the grace period."""
        presence = self.core.presence
        for consultation_id, pid in presence.disconnect(sid):
            data = {
                "consultation_id": consultation_id,
                "participant": member_view(consultation_id, pid, presence),
            }
            room = consultation_room(consultation_id)
            await self.core.notifier.emit("participant_updated", data, room)
            self._start_grace(consultation_id, pid)
            if self.boards is not None:
                await self.boards.left(consultation_id, pid)
        if self.boards is not None:
            self.boards.forget(sid)

    async def lost(self, rooms: Rooms) -> None:
        """Another node has gone without a word (killed, cut off): its participants are
        offline like after a dropped connection, and get the same grace period to come
        back on any node. Every surviving node does this; the database lets one of them
        move each participant on when the grace period is over."""
        presence, core = self.core.presence, self.core
        gone = {
            pid: cid
            for cid, members in rooms.items()
            for pid in members
            if not presence.in_room(cid, pid)  # back already, here or elsewhere
        }
        if not gone:
            return
        async with core.db.reading() as s:
            people = await ParticipantRepository(s).many(list(gone))
            names = await names_of(core, s, people)
        for p in people:
            cid = gone[p.id]
            view = participant_view(cid, p.id, str(p.role), names[p.id], presence)
            data = {"consultation_id": cid, "participant": view}
            await core.notifier.emit("participant_updated", data, consultation_room(cid))
            self._start_grace(cid, p.id)

    async def seen(self, changed: set[tuple[str, str]]) -> None:
        """Participants came into or left a room on another node. That node told the room
        already; a socket that joined here meanwhile read presence before this node knew,
        so this node's sockets in those rooms hear it again (the same view, no harm)."""
        presence, core = self.core.presence, self.core
        changed = {(cid, pid) for cid, pid in changed if presence.local_room(cid)}
        if not changed:
            return
        async with core.db.reading() as s:
            people = {p.id: p for p in await ParticipantRepository(s).many([p for _, p in changed])}
            names = await names_of(core, s, list(people.values()))
        for cid, pid in changed:
            p = people.get(pid)
            if p is None:
                continue
            view = participant_view(cid, pid, str(p.role), names[pid], presence)
            data = {"consultation_id": cid, "participant": view}
            await core.notifier.emit(
                "participant_updated", data, consultation_room(cid), here_only=True
            )

    async def reconcile(self) -> None:
        """In a cluster, once an interval: anyone joined on this node whom storage no
        longer has admitted (removed, or the consultation ended, on a node whose word was
        lost on the way) is taken out of the room here."""
        joined = {
            pid: cid for cid, members in self.core.presence.local_rooms().items() for pid in members
        }
        if not joined:
            return
        async with self.core.db.reading() as s:
            people = await ParticipantRepository(s).many(list(joined))
        admitted = {p.id for p in people if p.status == ParticipantStatus.admitted}
        for pid, cid in joined.items():
            if pid not in admitted:
                await self.evicted_here(cid, pid)

    def _start_grace(self, consultation_id: str, participant_id: str) -> None:
        self._cancel_grace(participant_id)
        task = asyncio.create_task(self._expire(consultation_id, participant_id))
        self._grace[participant_id] = task

    async def _expire(self, consultation_id: str, participant_id: str) -> None:
        await asyncio.sleep(self.core.limits.grace_seconds)
        self._grace.pop(participant_id, None)
        core = self.core
        if core.presence.in_room(consultation_id, participant_id):
            return
        try:
            async with core.db.session() as s:
                p = await ParticipantRepository(s).get(participant_id)
                c = await ConsultationRepository(s).get(consultation_id)
                if p is None or c is None or p.status != ParticipantStatus.admitted:
                    return
                # compare and set: in a cluster every node that saw them go runs this
                if p.role == ParticipantRole.customer:
                    # back to the lobby; only the advisor can let them in again
                    values: dict[str, object] = {"waiting_since": core.clock()}
                    target = ParticipantStatus.waiting
                else:
                    values, target = {"left_at": core.clock()}, ParticipantStatus.left
                if not await move_participant(
                    s, p.id, ParticipantStatus.admitted, target, **values
                ):
                    return
        except Exception:
            log.exception("grace expiry failed consultation=%s", consultation_id)
            return
        core.presence.forget(participant_id)
        data = {"consultation_id": consultation_id, "participant_id": participant_id}
        await core.notifier.emit(
            "participant_left", {**data, "reason": "timeout"}, consultation_room(consultation_id)
        )
        if p.role == ParticipantRole.customer:
            await tell_customer(core, p, "waiting")
            await announce_lobby(core, c)
        log.info(
            "grace period over consultation=%s participant=%s", consultation_id, participant_id
        )
