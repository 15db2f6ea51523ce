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
        Cmd::HashPassword => match cli::hash_password(&mut std::io::stdin().lock()) {
            Ok(phc) => {
                let _ = writeln!(std::io::stdout(), "{phc}");
                ExitCode::SUCCESS
            }
            Err(error) => fail(&format!("plenum: {error}"), 1),
        },
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
    }
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
