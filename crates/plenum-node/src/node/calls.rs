//! Calls the node places to registered devices: a Host's Add participant, a room's
//! automatic dial-out, a call to a person (a private two-party meeting); and the device
//! answering or declining with its one-time incoming token.

use std::sync::Arc;

use plenum_core::{
    Actor, Command, DialRequest, DisconnectReason, Entry, ParticipantId, Refusal, Role, Secret,
    ServiceConfig, ServiceKind,
};
use plenum_http::client::backend::{DIRECTORY_LIMIT, DialError, DialOrder, DialableDevice};
use tracing::{info, warn};
use uuid::Uuid;

use super::registrations::{device_name, matches_search};
use super::{JoinAttempt, JoinRefusal, Joined, Node, RingingCall};
use crate::config::DeviceAlias;
use crate::driver::{self, ConferenceHandle};

impl Node {
    /// Rings the registered device `order.destination` into `conference` (whose
    /// service is `service`) as `actor` asks. The dialled participant holds a seat from
    /// now on; it shows as connecting until it answers, declines, or the ring times out.
    pub async fn dial(
        &self,
        conference: &ConferenceHandle,
        service: &Arc<ServiceConfig>,
        actor: Actor,
        order: DialOrder,
    ) -> Result<ParticipantId, DialError> {
        let config = self.config();
        let Some(device) = config.device(&order.destination).cloned() else {
            info!(destination = %order.destination, "dial refused: no registered device has this alias and plenum has no gateway");
            return Err(DialError::NoGateway);
        };
        if self.check_switches().is_err() {
            return Err(DialError::OutOfResource);
        }
        if !self.is_registered(&device.alias) {
            info!(device = %device.alias, "dial refused: nobody is registered at this device alias");
            return Err(DialError::NotRegistered);
        }
        if !self.take_seat() {
            return Err(DialError::OutOfResource);
        }
        let participant = ParticipantId(Uuid::new_v4());
        let request = DialRequest {
            id: participant,
            display_name: order.display_name.unwrap_or_else(|| device_name(&device)),
            role: order.role,
            keeps_alive: order.keeps_alive,
        };
        let refusal = match conference.command(actor, Command::Dial(request)).await {
            Ok(Ok(())) => None,
            Ok(Err(refusal)) => Some(refusal),
            Err(driver::Gone) => Some(Refusal::Ended),
        };
        if let Some(refusal) = refusal {
            self.free_seat();
            return Err(DialError::Refused(refusal));
        }
        let conference_alias = service
            .aliases
            .first()
            .cloned()
            .unwrap_or_else(|| service.name.clone());
        let caller_name = order.caller_name.unwrap_or_else(|| service.name.clone());
        let call = RingingCall {
            conference: conference.clone(),
            participant,
            role: order.role,
            service: service.clone(),
        };
        let token = self
            .registrar
            .lock()
            .expect("registrar lock is never poisoned")
            .ring(
                driver::now(),
                &device.alias,
                &conference_alias,
                &caller_name,
                call,
            );
        self.registrar_changed.notify_one();
        if token.is_none() {
            // The registration ended between the check and the ring.
            conference
                .leave(participant, DisconnectReason::DeviceNotRegistered)
                .await;
            return Err(DialError::NotRegistered);
        }
        info!(%participant, device = %device.alias, role = %order.role, conference = %conference.id, "ringing a registered device");
        Ok(participant)
    }

    /// A call to the person registered at `device`: a private meeting with the caller
    /// as Host, the device rung into it as Host.
    pub(super) async fn call_person(
        &self,
        device: DeviceAlias,
        attempt: JoinAttempt,
    ) -> Result<Joined, JoinRefusal> {
        if !self.is_registered(&device.alias) {
            info!(device = %device.alias, "call refused: nobody is registered at this device alias");
            return Err(JoinRefusal::Refused(DisconnectReason::DeviceNotRegistered));
        }
        let config = self.config();
        let id = Uuid::new_v4().simple();
        let private_alias = format!("call.{id}");
        let mut service = ServiceConfig::new(
            &format!("call-{id}"),
            ServiceKind::PersonCall,
            &[&private_alias],
        );
        service.timeouts.ring = config.node.ring_timeout;
        service.chat_enabled = config.switches.chat_enabled;
        service.guests_can_present = config.switches.guests_can_present;
        let service = Arc::new(service);
        let caller_name = if attempt.display_name.is_empty() {
            "Unknown caller".to_owned()
        } else {
            attempt.display_name.clone()
        };
        let entry = Entry {
            service: service.clone(),
            role: Role::Host,
            via_host_pin: false,
        };
        let joined = self.admit(entry, attempt).await?;
        let order = DialOrder {
            destination: device.alias.clone(),
            role: Role::Host,
            display_name: None,
            caller_name: Some(caller_name),
            keeps_alive: true,
        };
        match self
            .dial(&joined.conference, &service, Actor::Node, order)
            .await
        {
            Ok(_) => Ok(joined),
            Err(error) => {
                joined
                    .conference
                    .leave(joined.participant, DisconnectReason::UserInitiated)
                    .await;
                Err(JoinRefusal::Refused(match error {
                    DialError::NotRegistered => DisconnectReason::DeviceNotRegistered,
                    _ => DisconnectReason::OutOfResource,
                }))
            }
        }
    }

    /// The device answers the call behind its incoming `token`, shown at `alias` (the
    /// `conference_alias` of its `incoming`). The token is used up.
    pub(super) async fn answer(&self, token: &Secret, alias: &str) -> Result<Joined, JoinRefusal> {
        let ring = self
            .registrar
            .lock()
            .expect("registrar lock is never poisoned")
            .take_ring_at(driver::now(), alias, token.expose())
            .ok_or(JoinRefusal::Refused(DisconnectReason::InvalidToken))?;
        self.registrar_changed.notify_one();
        let call = ring.call;
        match call.conference.answer(call.participant).await {
            Ok(Ok(outcome)) => {
                info!(participant = %call.participant, device = %ring.device, "the device answered");
                Ok(Joined {
                    participant: call.participant,
                    conference: call.conference,
                    entry: Entry {
                        service: call.service,
                        role: call.role,
                        via_host_pin: false,
                    },
                    outcome,
                })
            }
            // Cancelled or timed out in the same instant.
            Ok(Err(_)) | Err(driver::Gone) => {
                Err(JoinRefusal::Refused(DisconnectReason::InvalidToken))
            }
        }
    }

    /// The device declines the call behind its incoming `token` at `alias`: the dialled
    /// participant leaves with "Call rejected". False if the token rings nothing there.
    pub async fn decline(&self, alias: &str, token: &str) -> bool {
        let ring = self
            .registrar
            .lock()
            .expect("registrar lock is never poisoned")
            .take_ring_at(driver::now(), alias, token);
        let Some(ring) = ring else { return false };
        self.registrar_changed.notify_one();
        info!(participant = %ring.call.participant, device = %ring.device, "the device declined");
        ring.call
            .conference
            .leave(ring.call.participant, DisconnectReason::CallDeclined)
            .await;
        true
    }

    /// Rings a new conference's `auto_dial` devices; a device nobody is registered at is
    /// skipped (and logged).
    pub(super) async fn auto_dial(
        &self,
        conference: &ConferenceHandle,
        service: &Arc<ServiceConfig>,
    ) {
        for entry in &service.auto_dial {
            let order = DialOrder {
                destination: entry.alias.clone(),
                role: entry.role,
                display_name: None,
                caller_name: Some(service.name.clone()),
                keeps_alive: entry.keeps_alive,
            };
            if let Err(error) = self.dial(conference, service, Actor::Node, order).await {
                warn!(service = %service.name, device = %entry.alias, ?error, "auto_dial did not ring the device");
            }
        }
    }

    /// Configured devices whose alias or name contains `query` (case ignored), with
    /// whether someone is registered at each.
    pub fn dialable_devices(&self, query: &str) -> Vec<DialableDevice> {
        let query = query.to_lowercase();
        let config = self.config();
        let mut devices: Vec<DialableDevice> = config
            .devices
            .iter()
            .map(|d| (d, device_name(d)))
            .filter(|(d, name)| matches_search(&query, &d.alias, name))
            .map(|(d, description)| DialableDevice {
                alias: d.alias.clone(),
                description,
                registered: self.is_registered(&d.alias),
            })
            .collect();
        devices.sort_by_key(|d| (d.description.to_lowercase(), d.alias.to_lowercase()));
        devices.truncate(DIRECTORY_LIMIT);
        devices
    }

    /// Counts one more participant on the node; false (nothing counted) when the node
    /// is full.
    pub(super) fn take_seat(&self) -> bool {
        let seats = self
            .participants
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        let full = self
            .config()
            .node
            .max_participants
            .is_some_and(|max| seats > max as usize);
        if full {
            self.free_seat();
        }
        !full
    }

    /// Gives back a seat counted by [`Node::take_seat`] for a participant that never
    /// got in.
    pub(super) fn free_seat(&self) {
        self.participants
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
