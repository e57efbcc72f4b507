//! Translating between the room's typed notices/commands and the wire.

use crate::protocol::{
    ClientMsg, DeviceTroubleItem, KeyListener, NeedMomentItem, RosterItem, RoundItem, RoundKindMsg,
    ServerMsg, TileShown, WaitingItem, MAX_OFFER_M_LINES, MAX_SDP_BYTES,
};
use crate::room::{
    ChatText, Command, KeyEpoch, Notice, ParticipantId, Refusal, Role, RoundKind, SlotIndex,
    TileView, WrappedKey, MAX_ROOM_SIZE,
};

/// A room notice as a wire message.
pub fn notice_to_msg(notice: Notice) -> ServerMsg {
    match notice {
        Notice::Waiting => ServerMsg::Waiting,
        Notice::Admitted { you } => ServerMsg::Admitted {
            you: you.0,
            // Filled in per connection by the WebSocket layer.
            ice_servers: Vec::new(),
        },
        Notice::Denied => ServerMsg::Denied,
        Notice::FacilitatorMessage { text } => ServerMsg::FacilitatorMessage {
            text: text.as_str().to_owned(),
        },
        Notice::Roster(entries) => ServerMsg::Roster {
            participants: entries
                .into_iter()
                .map(|e| RosterItem {
                    id: e.id.0,
                    name: e.name.as_str().to_owned(),
                    role: role_str(e.role).to_owned(),
                    moderator: e.moderator,
                    audio: e.audio,
                    video: e.video,
                    muted_by_facilitator: e.muted_by_facilitator,
                    hand: e.hand,
                    connected: e.connected,
                    away: e.away,
                })
                .collect(),
        },
        Notice::WaitingList(entries) => ServerMsg::WaitingList {
            waiting: entries
                .into_iter()
                .map(|e| WaitingItem {
                    id: e.id.0,
                    name: e.name.as_str().to_owned(),
                    known: e.known,
                    device_of: e.device_of.map(|d| d.0),
                })
                .collect(),
        },
        Notice::Chat {
            from,
            private,
            text,
        } => ServerMsg::Chat {
            from: from.0,
            private,
            text: text.as_str().to_owned(),
        },
        Notice::DeviceTrouble(list) => ServerMsg::DeviceTrouble {
            participants: list
                .into_iter()
                .map(|(id, mic, camera)| DeviceTroubleItem {
                    id: id.0,
                    mic_stopped: mic,
                    camera_stopped: camera,
                })
                .collect(),
        },
        Notice::NeedMoment(list) => ServerMsg::NeedMoment {
            participants: list
                .into_iter()
                .map(|(id, since)| NeedMomentItem {
                    id: id.0,
                    since_seconds: since.as_secs(),
                })
                .collect(),
        },
        Notice::SideRoom { pair, wording } => ServerMsg::SideRoom {
            host: pair.map(|(h, _)| h.0),
            member: pair.map(|(_, m)| m.0),
            notice: wording,
        },
        Notice::Clock { elapsed, length } => ServerMsg::SessionClock {
            elapsed_seconds: elapsed.as_secs(),
            length_minutes: length.as_secs() / 60,
        },
        Notice::Round(view) => ServerMsg::Round {
            active: view.is_some(),
            kind: view.as_ref().map(|v| match v.kind {
                RoundKind::CheckIn => RoundKindMsg::CheckIn,
                RoundKind::CheckOut => RoundKindMsg::CheckOut,
                RoundKind::Round => RoundKindMsg::Round,
            }),
            order: view
                .as_ref()
                .map(|v| {
                    v.order
                        .iter()
                        .map(|(id, passed)| RoundItem {
                            id: id.0,
                            passed: *passed,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            current: view.map(|v| v.current.0),
        },
        Notice::ChatPolicy { enabled } => ServerMsg::ChatPolicy { enabled },
        Notice::Locked { locked } => ServerMsg::Locked { locked },
        Notice::ForcedMute {
            audio,
            video,
            may_unmute,
        } => ServerMsg::ForcedMute {
            audio,
            video,
            may_unmute,
        },
        Notice::ReturnedToWaiting => ServerMsg::ReturnedToWaiting,
        Notice::Removed => ServerMsg::Removed,
        Notice::Replaced => ServerMsg::Replaced,
        Notice::SessionEnded => ServerMsg::SessionEnded,
        Notice::FacilitatorAway { away } => ServerMsg::FacilitatorAway { away },
        Notice::RotateKey { epoch, listeners } => ServerMsg::RotateKey {
            epoch: epoch.0,
            listeners: listeners
                .into_iter()
                .map(|(id, key)| KeyListener {
                    participant: id.0,
                    public_key: key.as_str().to_owned(),
                })
                .collect(),
        },
        Notice::MediaKey {
            epoch,
            from,
            holder_key,
            wrapped,
        } => ServerMsg::MediaKey {
            epoch: epoch.0,
            from: from.0,
            public_key: holder_key.as_str().to_owned(),
            key: wrapped.as_str().to_owned(),
        },
        Notice::Refused(r) => refusal_msg(r),
    }
}

fn role_str(role: Role) -> &'static str {
    match role {
        Role::Facilitator => "facilitator",
        Role::CoFacilitator => "co_facilitator",
        Role::Member => "member",
    }
}

/// A refusal, with words a person can act on.
pub fn refusal_msg(r: Refusal) -> ServerMsg {
    let (reason, message) = match r {
        Refusal::NotAllowed => (
            "not_allowed",
            "Your role in this session does not allow that.".to_owned(),
        ),
        Refusal::Full { capacity } => (
            "full",
            format!("The group is full: {capacity} members are already in the session."),
        ),
        Refusal::Locked => (
            "locked",
            "The facilitator has locked this session.".to_owned(),
        ),
        Refusal::Ended => ("ended", "This session has ended.".to_owned()),
        Refusal::Blocked => (
            "blocked",
            "This link cannot be used again in this session.".to_owned(),
        ),
        Refusal::NoSuchParticipant => (
            "no_such_participant",
            "That person is not in a state where this applies.".to_owned(),
        ),
        Refusal::ChatOff => (
            "chat_off",
            "The facilitator has turned chat off.".to_owned(),
        ),
        Refusal::MutedByFacilitator => (
            "muted_by_facilitator",
            "The facilitator has muted you; only they can unmute you.".to_owned(),
        ),
        Refusal::FacilitatorPresent => (
            "facilitator_present",
            "The facilitator is present.".to_owned(),
        ),
    };
    ServerMsg::Refused {
        reason: reason.to_owned(),
        message,
    }
}

/// A page's view as the media plane takes it, or why it is refused: at
/// most one entry per receive slot of a full room, widths a screen can have.
fn tile_view(tiles: Vec<TileShown>) -> Result<TileView, ServerMsg> {
    let bad = || ServerMsg::error("bad_view", "The list of tiles on screen is not valid.");
    let slots = MAX_ROOM_SIZE - 1;
    if tiles.len() > slots {
        return Err(bad());
    }
    let mut visible: Vec<(SlotIndex, u16)> = Vec::with_capacity(tiles.len());
    for t in tiles {
        let width = u16::try_from(t.width).map_err(|_| bad())?;
        if usize::from(t.slot) >= slots || visible.iter().any(|(s, _)| s.0 == t.slot) {
            return Err(bad());
        }
        visible.push((SlotIndex(t.slot), width));
    }
    Ok(TileView { visible })
}

/// A client message as a room command for participant `by`, or the protocol
/// error to answer with.
pub fn command_for(by: ParticipantId, msg: ClientMsg) -> Result<Command, ServerMsg> {
    let p = ParticipantId;
    let text = |t: &str| {
        ChatText::parse(t)
            .ok_or_else(|| ServerMsg::error("bad_text", "Messages must be 1 to 1000 characters."))
    };
    Ok(match msg {
        ClientMsg::Hello { .. } => {
            return Err(ServerMsg::error(
                "already_joined",
                "This connection has already said hello.",
            ))
        }
        ClientMsg::Offer { sdp } => {
            if sdp.len() > MAX_SDP_BYTES {
                return Err(ServerMsg::error("too_large", "The SDP offer is too large."));
            }
            let m_lines = sdp.lines().filter(|l| l.starts_with("m=")).count();
            if m_lines > MAX_OFFER_M_LINES {
                return Err(ServerMsg::error(
                    "too_many_tracks",
                    "The offer has more media lines than a room can use; reload the page.",
                ));
            }
            Command::Offer { by, sdp }
        }
        ClientMsg::Admit { participant } => Command::Admit {
            by,
            who: p(participant),
        },
        ClientMsg::Deny { participant } => Command::Deny {
            by,
            who: p(participant),
        },
        ClientMsg::AdmitAll => Command::AdmitAll { by },
        ClientMsg::MessageWaiting {
            participant,
            text: t,
        } => Command::MessageWaiting {
            by,
            who: p(participant),
            text: text(&t)?,
        },
        ClientMsg::Mute {
            participant,
            audio,
            video,
            may_unmute,
        } => Command::Mute {
            by,
            who: p(participant),
            audio,
            video,
            may_unmute,
        },
        ClientMsg::Remove { participant } => Command::Remove {
            by,
            who: p(participant),
        },
        ClientMsg::ReturnToWaiting { participant } => Command::ReturnToWaiting {
            by,
            who: p(participant),
        },
        ClientMsg::Lock { locked } => Command::Lock { by, locked },
        ClientMsg::End => Command::End { by },
        ClientMsg::HandOver { participant } => Command::HandOver {
            by,
            to: p(participant),
        },
        ClientMsg::TakeOver => Command::TakeOver { by },
        ClientMsg::SetChat { enabled } => Command::SetChat { by, enabled },
        ClientMsg::Media { audio, video } => Command::SelfMedia { by, audio, video },
        ClientMsg::DeviceTrouble {
            mic_stopped,
            camera_stopped,
        } => Command::DeviceTrouble {
            by,
            mic: mic_stopped,
            camera: camera_stopped,
        },
        ClientMsg::RaiseHand { raised } => Command::RaiseHand { by, raised },
        ClientMsg::SideRoomStart { participant } => Command::SideRoomStart {
            by,
            who: p(participant),
        },
        ClientMsg::SideRoomEnd => Command::SideRoomEnd { by },
        ClientMsg::RoundStart { kind } => Command::RoundStart {
            by,
            kind: match kind {
                RoundKindMsg::CheckIn => RoundKind::CheckIn,
                RoundKindMsg::CheckOut => RoundKind::CheckOut,
                RoundKindMsg::Round => RoundKind::Round,
            },
        },
        ClientMsg::RoundNext => Command::RoundNext { by },
        ClientMsg::RoundPass => Command::RoundPass { by },
        ClientMsg::RoundEnd => Command::RoundEnd { by },
        ClientMsg::NeedMoment { on } => Command::NeedMoment { by, on },
        ClientMsg::StepAway { away } => Command::StepAway { by, away },
        ClientMsg::Chat { to, text: t } => Command::Chat {
            by,
            to: to.map(p),
            text: text(&t)?,
        },
        ClientMsg::View { tiles } => Command::View {
            by,
            view: tile_view(tiles)?,
        },
        ClientMsg::Keys { epoch, wrapped } => {
            let bad = || ServerMsg::error("bad_keys", "The wrapped keys are not valid.");
            if wrapped.len() >= MAX_ROOM_SIZE {
                return Err(bad());
            }
            let wrapped = wrapped
                .into_iter()
                .map(|w| Some((p(w.participant), WrappedKey::parse(&w.key)?)))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(bad)?;
            Command::DeliverKeys {
                by,
                epoch: KeyEpoch(epoch),
                wrapped,
            }
        }
        ClientMsg::Leave => Command::Leave { by },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(json: &str) -> Result<Command, ServerMsg> {
        let msg: ClientMsg = serde_json::from_str(json).expect("parses");
        command_for(ParticipantId(7), msg)
    }

    #[test]
    fn a_page_view_becomes_slots_and_widths() {
        let cmd =
            view(r#"{"type":"view","tiles":[{"slot":0,"width":300},{"slot":12,"width":1900}]}"#);
        let Ok(Command::View { by, view }) = cmd else {
            panic!("a view command: {cmd:?}")
        };
        assert_eq!(by, ParticipantId(7));
        assert_eq!(
            view.visible,
            vec![(SlotIndex(0), 300), (SlotIndex(12), 1900)]
        );
    }

    #[test]
    fn a_view_naming_a_slot_twice_or_out_of_range_or_absurdly_wide_is_refused() {
        for bad in [
            r#"{"type":"view","tiles":[{"slot":1,"width":300},{"slot":1,"width":200}]}"#,
            r#"{"type":"view","tiles":[{"slot":13,"width":300}]}"#,
            r#"{"type":"view","tiles":[{"slot":0,"width":70000}]}"#,
        ] {
            assert!(
                matches!(view(bad), Err(ServerMsg::Error { .. })),
                "refused: {bad}"
            );
        }
    }
}
