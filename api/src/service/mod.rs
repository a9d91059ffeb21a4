//! The enrollment core between HTTP and storage: each service reads the
//! facts it needs, lets the domain decide, and records the outcome. Nothing
//! here knows about requests or responses beyond [`crate::error::ApiError`].

pub mod checkin;
pub mod enrollment;
pub mod ledger;
pub mod notification;
pub mod preview;
pub mod statuses;
pub mod sweep;

use scepter_domain::subject_name::NameContext;
use scepter_storage::CheckInFacts;

/// The values a device's subject and SANs are expanded from, out of its
/// check-in facts: the same for the payload and for judging its request.
pub(crate) fn name_context(facts: &CheckInFacts) -> NameContext<'_> {
    NameContext {
        device_id: facts.device.id,
        device: &facts.device.content.device,
        user: facts.user.as_ref().map(|user| &user.content),
    }
}
