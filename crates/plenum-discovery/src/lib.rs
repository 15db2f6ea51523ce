//! plenum-discovery: how a desktop or mobile client finds a node (behavior.md §8) — the
//! domain to look up, `_pexapp._tcp` SRV records in RFC 2782 order, the A/AAAA fallback on
//! port 443, and the attempt loop that stops at a node in maintenance.
//!
//! The ordering, the domain choice, the plan and the attempt loop are pure (randomness and
//! the "try this target" step are inputs); only [`resolver`] does I/O.

#![forbid(unsafe_code)]

pub mod attempt;
pub mod domain;
pub mod plan;
pub mod resolver;
pub mod srv;

pub use attempt::{AttemptOutcome, TargetAnswer, attempt, classify_request_token};
pub use domain::{DomainInputs, DomainSource, LookupDomain, choose_domain};
pub use plan::{Origin, Plan, Target};
pub use resolver::{Discovery, DiscoveryError, DnsConfig, ResolvedTarget, Resolver, SrvLookup};
pub use srv::{SrvAnswer, SrvRecord, classify, order};
