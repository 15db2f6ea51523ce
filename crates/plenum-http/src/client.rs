//! The client REST API v2 (`/api/client/v2/conferences/{alias}/…`) and its event
//! stream, as Pexip's published SDK speaks it.

pub mod backend;
