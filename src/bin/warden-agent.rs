//! `warden-agent`: deploys only the commits Warden approved. See docs/agent.md.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use warden::agent::apply::plan::Parent;
use warden::agent::apply::{Applier, ApplyOptions};
use warden::agent::config::{AgentConfig, KEYS, Mode};
use warden::agent::endpoints::{router, run_loop};
use warden::agent::pin::{Controller, Pinner};
use warden::agent::{Agent, Deployer, PassOutcome, PrintDeployer};
use warden::github::client::{ClientOptions, GitHubClient, now_unix};

fn env_help() -> String {
    let mut s = String::from("Configuration (environment variables):\n");
    let width = KEYS.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, what) in KEYS {
        s.push_str(&format!("  {k:<width$} {what}\n"));
    }
    s.push_str(
        "\nExample:\n  WARDEN_AGENT_REPO=acme/gitops WARDEN_AGENT_ENVIRONMENT=staging \\\n  \
         WARDEN_AGENT_PATH=overlays/staging WARDEN_AGENT_PUBLIC_KEYS=warden.pub warden-agent --once",
    );
    s
}

/// The pull agent in a cluster: deploys the newest commit of the deploy branch that carries a
/// valid, signed Warden approval for its environment and is ahead of what it deployed.
///
/// Each pass reads the branch's newest commits and their statuses with conditional requests
/// (nothing changed: 304s, which cost no rate limit), verifies the `warden/approve/<env>`
/// statuses with Warden's public keys, fetches the approved commit's tarball and renders the
/// overlay with Warden's Kustomize engine. Unsigned, forged, copied, stale or replayed approvals
/// leave the cluster as it is and are logged and counted with the reason. With a token it
/// reports `warden/deployed/<env>` on the commit. Modes: `print` writes the objects to standard
/// output; `apply` server-side applies them as field manager `warden-agent`, kept as a
/// Kubernetes ApplySet (pruning what left the overlay) and waits for rollouts; `argocd` and
/// `flux` pin the named Application / GitRepository to the commit. Logs are JSON lines on
/// standard error.
#[derive(Parser)]
#[command(name = "warden-agent", version, after_help = env_help())]
struct Cli {
    /// One pass, then exit (status 0 when it succeeded, 1 when it failed).
    #[arg(long)]
    once: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let config = AgentConfig::load(&|k| std::env::var(k).ok(), &|p| std::fs::read_to_string(p))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async move {
        let client = GitHubClient::with_token(
            &config.api_url,
            config.token.clone(),
            ClientOptions {
                user_agent: format!("warden-agent/{}", env!("CARGO_PKG_VERSION")),
                ..ClientOptions::default()
            },
        )?;
        match config.mode.clone() {
            Mode::Print => {
                let deployer = PrintDeployer::new(
                    Box::new(std::io::stdout()),
                    config.state_file.clone(),
                    format!(
                        "warden-agent: {} {} ({})",
                        config.repo, config.path, config.environment
                    ),
                );
                serve(cli, Agent::new(config, client, deployer)).await
            }
            Mode::ArgoCd { namespace, name } | Mode::Flux { namespace, name } => {
                let controller = if matches!(config.mode, Mode::ArgoCd { .. }) {
                    Controller::ArgoCd
                } else {
                    Controller::Flux
                };
                let kube = kube::Client::try_default()
                    .await
                    .context("the Kubernetes API (in-cluster service account, or KUBECONFIG)")?;
                let deployer = Pinner::new(kube, controller, &namespace, &name, now_unix);
                serve(cli, Agent::new(config, client, deployer)).await
            }
            Mode::Apply {
                inventory_namespace,
                inventory_name,
                default_namespace,
                rollout_timeout,
            } => {
                let kube = kube::Client::try_default()
                    .await
                    .context("the Kubernetes API (in-cluster service account, or KUBECONFIG)")?;
                let parent = Parent {
                    namespace: inventory_namespace
                        .unwrap_or_else(|| kube.default_namespace().to_string()),
                    name: inventory_name,
                };
                tracing::info!(inventory = %parent, applyset = %parent.id(), "apply mode");
                let deployer = Applier::new(
                    kube,
                    ApplyOptions {
                        parent,
                        default_namespace,
                        rollout_timeout,
                        poll: std::time::Duration::from_secs(2),
                    },
                );
                serve(cli, Agent::new(config, client, deployer)).await
            }
        }
    })
}

async fn serve<D: Deployer>(cli: Cli, agent: Agent<D>) -> Result<ExitCode> {
    {
        let listen = agent.config.listen;
        let interval = agent.config.interval;
        let agent = Arc::new(agent);
        if cli.once {
            return Ok(match agent.pass().await {
                Ok(PassOutcome::Failed { .. }) => ExitCode::FAILURE,
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("Error: {e}");
                    ExitCode::FAILURE
                }
            });
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("WARDEN_AGENT_LISTEN {listen}"))?;
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let app = router(agent.metrics.clone(), interval);
        let mut server_stop = stop.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = server_stop.changed().await;
                })
                .await
        });
        let looping = tokio::spawn(run_loop(agent, stop));
        warden::app::shutdown_signal().await;
        let _ = stop_tx.send(true);
        let _ = looping.await;
        let _ = server.await;
        Ok(ExitCode::SUCCESS)
    }
}
