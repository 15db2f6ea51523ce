//! The attempt loop: try each planned target through an injected async step, stop at the
//! first node that answers, and stop at a node in maintenance (#pex110) instead of trying
//! the next one (behavior.md §8).

use std::future::Future;

use crate::plan::Target;

/// What trying one target gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetAnswer<T> {
    /// The node answered; it decides whether the alias exists, so the loop stops.
    Answered(T),
    /// The node says it is in maintenance mode: the loop stops without trying others.
    Maintenance(String),
    /// The target could not be used (no address, no connection, a gateway error, out of
    /// resources); the loop goes on with the next one.
    Failed(String),
}

/// How the attempt loop ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome<T> {
    /// A node answered.
    Answered {
        /// The node that answered.
        target: Target,
        /// Its answer.
        value: T,
        /// The targets tried before it and why each failed.
        failed: Vec<(Target, String)>,
    },
    /// A node is in maintenance mode; no other target was tried after it.
    Maintenance {
        /// The node in maintenance.
        target: Target,
        /// What it said.
        message: String,
        /// The targets tried before it and why each failed.
        failed: Vec<(Target, String)>,
    },
    /// No target answered.
    NoneAnswered {
        /// Every target and why it failed, in plan order.
        failed: Vec<(Target, String)>,
    },
}

/// Tries `targets` in order with `try_target` until one answers or says maintenance.
pub async fn attempt<T, F, Fut>(targets: &[Target], mut try_target: F) -> AttemptOutcome<T>
where
    F: FnMut(Target) -> Fut,
    Fut: Future<Output = TargetAnswer<T>>,
{
    let mut failed = Vec::new();
    for target in targets {
        match try_target(target.clone()).await {
            TargetAnswer::Answered(value) => {
                return AttemptOutcome::Answered {
                    target: target.clone(),
                    value,
                    failed,
                };
            }
            TargetAnswer::Maintenance(message) => {
                return AttemptOutcome::Maintenance {
                    target: target.clone(),
                    message,
                    failed,
                };
            }
            TargetAnswer::Failed(why) => {
                tracing::debug!(%target, %why, "target failed, trying the next");
                failed.push((target.clone(), why));
            }
        }
    }
    AttemptOutcome::NoneAnswered { failed }
}

/// What a node's `request_token` answer means for the attempt loop, from its HTTP status
/// and body. A 503 is maintenance mode (#pex110, "System in maintenance mode") unless the
/// body says the node is out of resources (#pex109), when another node may take the call;
/// 502, 504 and 529 mean this node cannot answer now; any other status is the node's
/// answer (200 joined, 403 a PIN or refusal, 404 no such alias).
pub fn classify_request_token(status: u16, body: &str) -> TargetAnswer<u16> {
    let lower = body.to_ascii_lowercase();
    match status {
        503 if lower.contains("out of resource") => TargetAnswer::Failed(said(status, body)),
        503 => TargetAnswer::Maintenance(if lower.contains("maintenance") {
            "System in maintenance mode".to_owned()
        } else {
            said(status, body)
        }),
        _ if lower.contains("#pex110") => {
            TargetAnswer::Maintenance("System in maintenance mode".to_owned())
        }
        502 | 504 | 529 => TargetAnswer::Failed(said(status, body)),
        _ => TargetAnswer::Answered(status),
    }
}

/// "503 from request_token: <body>", without the colon when the body is empty.
fn said(status: u16, body: &str) -> String {
    match body.trim() {
        "" => format!("{status} from request_token"),
        body => format!("{status} from request_token: {body}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Origin;

    fn target(host: &str) -> Target {
        Target {
            host: host.to_owned(),
            port: 443,
            origin: Origin::Fallback,
        }
    }

    /// Runs the loop with fixed answers per host and returns the outcome and the hosts tried.
    async fn run(answers: &[(&str, TargetAnswer<u16>)]) -> (AttemptOutcome<u16>, Vec<String>) {
        let targets: Vec<Target> = answers.iter().map(|(h, _)| target(h)).collect();
        let mut tried = Vec::new();
        let outcome = attempt(&targets, |t| {
            tried.push(t.host.clone());
            let answer = answers
                .iter()
                .find(|(h, _)| *h == t.host)
                .map(|(_, a)| a.clone())
                .expect("a planned host");
            async move { answer }
        })
        .await;
        (outcome, tried)
    }

    #[tokio::test]
    async fn the_first_node_that_answers_ends_the_loop() {
        let (outcome, tried) = run(&[
            ("a", TargetAnswer::Failed("connection refused".into())),
            ("b", TargetAnswer::Answered(404)),
            ("c", TargetAnswer::Answered(200)),
        ])
        .await;
        assert_eq!(tried, ["a", "b"]);
        assert_eq!(
            outcome,
            AttemptOutcome::Answered {
                target: target("b"),
                value: 404,
                failed: vec![(target("a"), "connection refused".into())],
            }
        );
    }

    #[tokio::test]
    async fn a_node_in_maintenance_stops_the_loop() {
        let (outcome, tried) = run(&[
            (
                "a",
                TargetAnswer::Maintenance("System in maintenance mode".into()),
            ),
            ("b", TargetAnswer::Answered(200)),
        ])
        .await;
        assert_eq!(tried, ["a"], "nothing is tried after a node in maintenance");
        assert!(
            matches!(outcome, AttemptOutcome::Maintenance { ref target, .. } if target.host == "a")
        );
    }

    #[tokio::test]
    async fn every_failure_is_reported_when_none_answers() {
        let (outcome, tried) = run(&[
            ("a", TargetAnswer::Failed("timed out".into())),
            ("b", TargetAnswer::Failed("no address".into())),
        ])
        .await;
        assert_eq!(tried, ["a", "b"]);
        assert_eq!(
            outcome,
            AttemptOutcome::NoneAnswered {
                failed: vec![
                    (target("a"), "timed out".into()),
                    (target("b"), "no address".into())
                ]
            }
        );
    }

    #[test]
    fn request_token_statuses_are_classified() {
        fn check(status: u16, body: &str, expected: TargetAnswer<u16>) {
            assert_eq!(
                classify_request_token(status, body),
                expected,
                "{status} {body}"
            );
        }
        let maintenance = || TargetAnswer::Maintenance("System in maintenance mode".into());
        check(
            503,
            r#"{"status":"success","result":"System in maintenance mode"}"#,
            maintenance(),
        );
        check(403, r##"{"result":"#pex110"}"##, maintenance());
        check(
            503,
            "",
            TargetAnswer::Maintenance("503 from request_token".into()),
        );
        check(
            503,
            "Out of resource",
            TargetAnswer::Failed("503 from request_token: Out of resource".into()),
        );
        check(
            502,
            "",
            TargetAnswer::Failed("502 from request_token".into()),
        );
        check(
            504,
            "",
            TargetAnswer::Failed("504 from request_token".into()),
        );
        check(200, "{}", TargetAnswer::Answered(200));
        check(403, "Invalid PIN", TargetAnswer::Answered(403));
        check(404, "Conference not found", TargetAnswer::Answered(404));
    }
}
