//! Between HTTP and storage: each service reads the facts it needs, lets the
//! domain decide, and records the outcome. Nothing here knows about requests
//! or responses beyond [`crate::error::ApiError`].
//!
//! - The enrollment core: [`checkin`] (what each device must do, with its
//!   payloads), [`enrollment`] (judging SCEP requests), [`notification`]
//!   (issued certificates into the ledger), [`statuses`] (a profile's state
//!   per device), [`ledger`] (certificates and revocation results),
//!   [`preview`] (a device's payload for admins), [`sweep`] (periodic
//!   revocation and retention), [`timeline`] (a device's enrollment history
//!   and diagnosis per SCEP profile).
//! - [`versioned`]: the admin writes every versioned resource shares
//!   (`If-Match`, revocations after a change); [`directory`] and [`profiles`]
//!   implement it for users, devices, groups and both profile kinds, and hold
//!   the other admin flows of more than one step.

pub mod audit;
pub mod checkin;
pub mod directory;
pub mod dry_run;
pub mod enrollment;
pub mod health;
pub mod ledger;
pub mod notification;
pub mod preview;
pub mod profiles;
pub mod statuses;
pub mod sweep;
pub mod timeline;
pub mod versioned;

use scepter_domain::subject_name::NameContext;
use scepter_storage::SubjectFacts;

/// The values a device's subject and SANs are expanded from, out of its
/// facts: the same for the payload and for judging its request.
pub(crate) fn name_context(subject: &SubjectFacts) -> NameContext<'_> {
    NameContext {
        device_id: subject.device.id,
        device: &subject.device.content.device,
        user: subject.user.as_ref().map(|user| &user.content),
    }
}
