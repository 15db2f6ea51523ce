//! The `plenum` binary: a thin main over plenum-node (command line, logging, exit codes).

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use plenum_node::cli::{self, EXIT_CONFIG};
use plenum_node::doctor;
use plenum_node::provision;
use plenum_node::run::{self, ServeError};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "plenum",
    version,
    about = "plenum: a self-hosted video conferencing node"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the node (HTTPS on node.listen, default https://127.0.0.1:8443).
    Serve {
        /// The configuration directory.
        #[arg(long, default_value = "config")]
        config: PathBuf,
    },
    /// Validate the configuration and print a summary, or every error (exit 64).
    CheckConfig {
        /// The configuration directory.
        #[arg(long, default_value = "config")]
        config: PathBuf,
    },
    /// Check what a client would see: DNS SRV records, TCP, the TLS certificate,
    /// /health, media ports, public addresses, STUN. Exit 0 only when a client could join.
    Doctor {
        /// The configuration directory.
        #[arg(long, default_value = "config")]
        config: PathBuf,
        /// A domain whose _pexapp._tcp SRV records clients look up.
        #[arg(long)]
        domain: Option<String>,
        /// Ask this DNS server (ip:port) instead of the system's.
        #[arg(long)]
        dns: Option<std::net::SocketAddr>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The node's URL (default: https://<node.listen>).
        url: Option<String>,
    },
    /// Read a password from standard input and print its argon2id hash (for admin users
    /// and device aliases).
    HashPassword,
    /// Write a provisioning link per device alias (the config's [[device]] entries and/or
    /// a CSV of users) to <out>/links.csv, and an email text per user from a template.
    Provision {
        /// The configuration directory.
        #[arg(long, default_value = "config")]
        config: PathBuf,
        /// Users: a CSV with a header row; columns alias (required), username, password,
        /// name, email. The only source of passwords (the config stores hashes).
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Where links point (default: https://<node.public_name>[:<listen port>]).
        #[arg(long)]
        base_url: Option<String>,
        /// An email text template with {name}, {link} and {alias}; writes <out>/<alias>.txt.
        #[arg(long)]
        email_template: Option<PathBuf>,
        /// The output directory (created, owner-only).
        #[arg(long, default_value = "provision")]
        out: PathBuf,
    },
    /// Measure what this machine can carry with the real media kernels (what `serve`
    /// does at start): CPU per HD, SD and audio-only call and the calls that fit.
    Capacity {
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Measure the node under load: synthetic WebRTC participants (real Opus and VP8)
    /// join through the client API, scenario by scenario, against a node started on
    /// loopback (pinned to CPU 0, the generator on the others) or at --url. Prints what
    /// was held, node CPU per participant, delivery both ways, glitches, join-to-first-
    /// frame time and memory; exits 1 if a scenario missed its requirements.
    Loadtest(LoadtestArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = cli::env_map(std::env::vars_os());
    match cli.command {
        Cmd::Serve { config } => {
            init_tracing(&env);
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => return fail(&format!("cannot start the async runtime: {error}"), 1),
            };
            match runtime.block_on(run::serve_command(config, env)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(ServeError::Config(errors)) => fail(
                    &format!(
                        "plenum: the configuration is refused, nothing was started:\n{errors}"
                    ),
                    EXIT_CONFIG,
                ),
                Err(error @ ServeError::Startup(_)) => fail(&format!("plenum: {error}"), 1),
            }
        }
        Cmd::CheckConfig { config } => {
            let (code, output) = cli::check_config(&config, &env);
            let _ = if code == 0 {
                std::io::stdout().write_all(output.as_bytes())
            } else {
                std::io::stderr().write_all(output.as_bytes())
            };
            ExitCode::from(code)
        }
        Cmd::Doctor {
            config,
            domain,
            dns,
            json,
            url,
        } => {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => return fail(&format!("cannot start the async runtime: {error}"), 1),
            };
            let args = doctor::probe::Args {
                config,
                domain,
                url,
                dns,
                json,
            };
            let (code, output) = runtime.block_on(doctor::probe::run(&args, &env));
            let _ = std::io::stdout().write_all(output.as_bytes());
            ExitCode::from(code)
        }
        Cmd::HashPassword => {
            match plenum_node::password::hash_password(&mut std::io::stdin().lock()) {
                Ok(phc) => {
                    let _ = writeln!(std::io::stdout(), "{phc}");
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&format!("plenum: {error}"), 1),
            }
        }
        Cmd::Provision {
            config,
            csv,
            base_url,
            email_template,
            out,
        } => {
            let options = provision::Options {
                config,
                csv,
                base_url,
                email_template,
                out,
            };
            match provision::run(&options, &env) {
                Ok(summary) => {
                    let _ = write!(std::io::stdout(), "{summary}");
                    ExitCode::SUCCESS
                }
                Err(error @ provision::ProvisionError::Config(_)) => {
                    fail(&format!("plenum provision: {error}"), EXIT_CONFIG)
                }
                Err(error) => fail(&format!("plenum provision: {error}"), 1),
            }
        }
        Cmd::Capacity { json } => match cli::capacity_report(json) {
            Ok(text) => {
                let _ = std::io::stdout().write_all(text.as_bytes());
                ExitCode::SUCCESS
            }
            Err(error) => fail(&format!("plenum capacity: {error}"), 1),
        },
        Cmd::Loadtest(args) => loadtest(args),
    }
}

/// `plenum loadtest`'s arguments.
#[derive(Debug, clap::Args)]
struct LoadtestArgs {
    /// Scenarios to run (repeatable): personal-hd, shared-hd, audio-only,
    /// small-meetings, join-storm, presentation. Default: all (shared-hd with --soak).
    #[arg(long = "scenario")]
    scenarios: Vec<String>,
    /// Participants per scenario instead of each one's default.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    participants: Option<u32>,
    /// Seconds each scenario is measured after everyone joined.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// A soak run: measure this long instead (e.g. 1h, 30m, 90s), memory sampled every
    /// 10 s.
    #[arg(long)]
    soak: Option<String>,
    /// What participants send instead of the scenario's resolution: WxH@kbps
    /// (e.g. 640x360@500).
    #[arg(long)]
    send: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Measure a node already running at this URL (https://host:port) instead of
    /// starting one; it needs switches.metrics_enabled and metrics_auth = "none".
    #[arg(long)]
    url: Option<String>,
    /// With --url: the node's process id on this machine, for its CPU and memory.
    #[arg(long)]
    node_pid: Option<u32>,
    /// Do not pin the node and the generator to separate CPUs.
    #[arg(long)]
    no_pin: bool,
    /// Keep the started node's admission control (its measured capacity): calls
    /// beyond it are downgraded or refused and show up as errors. By default its
    /// capacity is set out of reach, to measure how far it really goes.
    #[arg(long)]
    admission: bool,
}

/// `plenum loadtest`: pins first (threads started later inherit it), then runs.
fn loadtest(args: LoadtestArgs) -> ExitCode {
    use plenum_loadtest::{Options, Target};
    let duration = match &args.soak {
        Some(text) => match parse_duration(text) {
            Some(d) => d,
            None => {
                return fail(
                    &format!(
                        "plenum loadtest: --soak {text:?} is not a duration like 1h, 30m or 90s"
                    ),
                    EXIT_CONFIG,
                );
            }
        },
        None => std::time::Duration::from_secs(args.duration),
    };
    let send = match args.send.as_deref().map(parse_send) {
        None => None,
        Some(Some(send)) => Some(send),
        Some(None) => {
            return fail(
                "plenum loadtest: --send takes WxH@kbps, e.g. 640x360@500 (even sizes, 16..=1920 wide)",
                EXIT_CONFIG,
            );
        }
    };
    let names = plenum_loadtest::scenario::NAMES;
    if let Some(unknown) = args.scenarios.iter().find(|s| !names.contains(&s.as_str())) {
        return fail(
            &format!(
                "plenum loadtest: unknown scenario {unknown:?}: choose from {}",
                names.join(", ")
            ),
            EXIT_CONFIG,
        );
    }
    let scenarios = if !args.scenarios.is_empty() {
        args.scenarios
    } else if args.soak.is_some() {
        vec!["shared-hd".to_owned()]
    } else {
        plenum_loadtest::scenario::NAMES.map(str::to_owned).to_vec()
    };
    let (target, generator_cpus) = match args.url {
        Some(url) => (
            Target::Attach {
                url,
                pid: args.node_pid,
            },
            None,
        ),
        None => {
            let binary = match std::env::current_exe() {
                Ok(b) => b,
                Err(error) => return fail(&format!("plenum loadtest: {error}"), 1),
            };
            let pinned = if args.no_pin {
                None
            } else {
                plenum_loadtest::pin_generator()
            };
            (
                Target::Start {
                    binary,
                    cpu: pinned.as_ref().map(|p| p.0),
                    admission: args.admission,
                },
                pinned.map(|p| p.1),
            )
        }
    };
    let options = Options {
        scenarios,
        participants: args.participants.map(|n| n as usize),
        duration,
        send,
        target,
        progress: std::io::stderr().is_terminal(),
        generator_cpus,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the async runtime: {error}"), 1),
    };
    match runtime.block_on(plenum_loadtest::run(&options)) {
        Ok(report) => {
            let text = if args.json {
                serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
            } else {
                report.table()
            };
            let _ = std::io::stdout().write_all(text.as_bytes());
            if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => fail(&format!("plenum loadtest: {error:#}"), 1),
    }
}

/// `1h`, `30m`, `90s` or plain seconds.
fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        _ => return None,
    };
    (seconds > 0).then(|| std::time::Duration::from_secs(seconds))
}

/// `WxH@kbps`.
fn parse_send(text: &str) -> Option<(u32, u32, u32)> {
    let (size, kbps) = text.split_once('@')?;
    let (w, h) = size.split_once('x')?;
    let (w, h, kbps): (u32, u32, u32) = (w.parse().ok()?, h.parse().ok()?, kbps.parse().ok()?);
    let ok = |n: u32| (16..=1920).contains(&n) && n.is_multiple_of(2);
    (ok(w) && ok(h) && (50..=8000).contains(&kbps)).then_some((w, h, kbps))
}

fn fail(message: &str, code: u8) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "{message}");
    ExitCode::from(code)
}

/// The default log filter. The WebRTC stack's own warnings (ICE checks before
/// candidates arrive, SRTP packets before the handshake ends) are routine during call
/// set-up, so only its errors are shown.
const DEFAULT_LOG_FILTER: &str = "warn,plenum=info,rtc=error,webrtc=error";

/// Logs to stderr, filtered by PLENUM_LOG, else RUST_LOG, else [`DEFAULT_LOG_FILTER`];
/// JSON lines when PLENUM_LOG_FORMAT=json.
fn init_tracing(env: &std::collections::HashMap<String, String>) {
    let directives = env
        .get("PLENUM_LOG")
        .or_else(|| env.get("RUST_LOG"))
        .cloned()
        .unwrap_or_else(|| DEFAULT_LOG_FILTER.to_owned());
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|error| {
        let _ = writeln!(
            std::io::stderr(),
            "plenum: ignoring the log filter {directives:?}: {error}"
        );
        EnvFilter::new(DEFAULT_LOG_FILTER)
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if env.get("PLENUM_LOG_FORMAT").is_some_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
