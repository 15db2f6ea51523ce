//! The attempt plan for one domain: its SRV targets in RFC 2782 order, then the domain's
//! own A/AAAA on port 443 (used when there is no SRV record or no target answers).

use crate::srv::{self, SrvAnswer, SrvRecord};

/// The port clients use when there is no SRV record (behavior.md §8).
pub const FALLBACK_PORT: u16 = 443;

/// Why a target is in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An SRV record with this priority and weight.
    Srv {
        /// The record's priority.
        priority: u16,
        /// The record's weight.
        weight: u16,
    },
    /// The domain's own address on port 443.
    Fallback,
}

/// One host and port to try, in plan order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host name to resolve (A/AAAA) and whose certificate must cover it.
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// Where the target came from.
    pub origin: Origin,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// The ordered targets for a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The domain looked up.
    pub domain: String,
    /// Whether the domain had usable SRV records (otherwise the plan is the fallback only).
    pub had_srv: bool,
    /// The targets to try in order; the fallback comes last.
    pub targets: Vec<Target>,
}

/// The plan could not be made: the domain says the service is not offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotOffered;

impl Plan {
    /// The plan for `domain` from its SRV records (empty when there were none), with
    /// `draw` as the RFC 2782 random draws (see [`srv::order`]). A single record with
    /// target `.` gives [`NotOffered`]: the client must not fall back to the domain.
    pub fn new(
        domain: &str,
        records: Vec<SrvRecord>,
        draw: impl FnMut(u32) -> u32,
    ) -> Result<Plan, NotOffered> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let ordered = match srv::classify(records, draw) {
            SrvAnswer::NotOffered => return Err(NotOffered),
            SrvAnswer::Ordered(ordered) => ordered,
        };
        let had_srv = !ordered.is_empty();
        let mut targets: Vec<Target> = ordered
            .into_iter()
            .map(|r| Target {
                host: r.target.to_ascii_lowercase(),
                port: r.port,
                origin: Origin::Srv {
                    priority: r.priority,
                    weight: r.weight,
                },
            })
            .collect();
        // The fallback is worth trying unless an SRV target is that very host and port.
        if !targets
            .iter()
            .any(|t| t.host == domain && t.port == FALLBACK_PORT)
        {
            targets.push(Target {
                host: domain.clone(),
                port: FALLBACK_PORT,
                origin: Origin::Fallback,
            });
        }
        Ok(Plan {
            domain,
            had_srv,
            targets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(plan: &Plan) -> Vec<String> {
        plan.targets.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn no_srv_record_plans_the_domain_itself_on_443() {
        let plan =
            Plan::new("Example.com.", vec![], |_| unreachable!("nothing to draw")).expect("plan");
        assert!(!plan.had_srv);
        assert_eq!(hosts(&plan), ["example.com:443"]);
        assert_eq!(plan.targets[0].origin, Origin::Fallback);
    }

    #[test]
    fn srv_targets_come_in_order_then_the_fallback() {
        let records = vec![
            SrvRecord::new(20, 0, 443, "backup.example.com."),
            SrvRecord::new(10, 10, 8443, "a.example.com."),
            SrvRecord::new(10, 30, 443, "b.example.com."),
        ];
        let plan = Plan::new("example.com", records, |_| 40).expect("plan");
        assert!(plan.had_srv);
        assert_eq!(
            hosts(&plan),
            [
                "b.example.com:443",
                "a.example.com:8443",
                "backup.example.com:443",
                "example.com:443"
            ]
        );
        assert_eq!(
            plan.targets[0].origin,
            Origin::Srv {
                priority: 10,
                weight: 30
            }
        );
    }

    #[test]
    fn the_fallback_is_not_repeated_when_a_target_is_the_domain_on_443() {
        let records = vec![SrvRecord::new(0, 0, 443, "example.com.")];
        let plan = Plan::new("example.com", records, |_| 0).expect("plan");
        assert_eq!(hosts(&plan), ["example.com:443"]);
        assert_eq!(
            plan.targets[0].origin,
            Origin::Srv {
                priority: 0,
                weight: 0
            }
        );
    }

    #[test]
    fn a_dot_target_means_no_plan_at_all() {
        let records = vec![SrvRecord::new(0, 0, 0, ".")];
        assert_eq!(Plan::new("example.com", records, |_| 0), Err(NotOffered));
    }
}
