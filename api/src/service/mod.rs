//! The enrollment core between HTTP and storage: each service reads the
//! facts it needs, lets the domain decide, and records the outcome. Nothing
//! here knows about requests or responses beyond [`crate::error::ApiError`].

pub mod enrollment;
pub mod sweep;
