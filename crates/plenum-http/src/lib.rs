//! plenum-http (skeleton).
