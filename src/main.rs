//! `warden`: guards GitOps config repositories.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use warden::checks::run::{CheckOptions, all_rules};
use warden::diff::run::DiffOptions;
use warden::kustomize::{self, BuildOptions, fs::DiskFs};
use warden::repo::{Snapshot, git};
use warden::report::markdown::ReportContext;

#[derive(Parser)]
#[command(
    name = "warden",
    version,
    about = "Guards GitOps config repositories: renders Kustomize overlays exactly like kubectl, \
             checks them, and shows what really changes in each cluster.",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render a kustomization directory, printing what `kubectl kustomize DIR` prints.
    ///
    /// Warden's native engine follows Kustomize v5.5 (as shipped with kubectl 1.32). It never
    /// fetches remote bases, runs plugins or Helm: such kustomizations fail with a clear message.
    /// Files may only be read from inside the kustomization directory that names them
    /// (kubectl's default load restrictor); bases may live elsewhere.
    Render {
        /// The directory holding kustomization.yaml (or kustomization.yml, Kustomization).
        dir: PathBuf,
        /// Write the output to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Print the files the build read (its input closure), one per line, instead of the objects.
        #[arg(long)]
        inputs: bool,
        /// Print each object's origin (file:line and the patches that touched it) to standard error.
        #[arg(long)]
        origins: bool,
    },
    /// Check a config repo: render every target and run schema, API-version, workload,
    /// consistency, secret and Rego policy checks.
    ///
    /// Targets are the kustomization roots of the environments in `.github/warden.yml`; without
    /// one, those deployed by Argo CD Applications/ApplicationSets or Flux Kustomizations found
    /// in the repo; failing those, every leaf kustomization. With --base, only the targets whose
    /// input files changed since that revision are checked (all of them when the config or a
    /// policy changed). Findings point at the file and line to edit.
    ///
    /// Exit status: 0 when no finding has error severity, 1 when one has, 2 on usage or
    /// runtime errors.
    #[command(
        after_help = "Examples:\n  warden check\n  warden check --repo ../gitops --base origin/main\n  warden check --env production --format sarif > warden.sarif"
    )]
    Check(CheckArgs),
    /// Show what a change does to each cluster: render every affected target at the base and
    /// the head and compare the objects.
    ///
    /// Objects are matched by kind, namespace and name; list items by their merge keys
    /// (containers by name, ports by containerPort, …), so a reorder is no change. A ConfigMap
    /// or Secret regenerated with a new hash suffix is shown as one changed object, and the
    /// workloads that only pick up its new name as one line. Secret values are never shown,
    /// only which keys changed. Each target's change is classified (image-bump, scale, config,
    /// rbac, crd, new-resource, deletion, namespace, other).
    ///
    /// The base is compared from its merge base with the head, as a pull request is.
    /// `--format markdown` prints the comment Warden posts on a pull request (with the head's
    /// findings).
    ///
    /// Exit status: 0, or with --exit-code 1 when the renders differ; 2 on usage or runtime
    /// errors.
    #[command(
        after_help = "Examples:\n  warden diff --base origin/main\n  warden diff --base main --head feature --env staging\n  warden diff --base HEAD~1 --format json | jq '.summary.classes'"
    )]
    Diff(DiffArgs),
    /// Promote image versions from one environment to the next, on a local checkout.
    ///
    /// For each target of ENV (--to), the matching target of the source environment (--from,
    /// default: the environment before ENV in `.github/warden.yml`) is found: the directory
    /// with the path segment ENV replaced by the source's name, else the only target of each.
    /// Both are rendered, and every image the two use with a different tag or digest is set,
    /// in the destination overlay's own `images:` entries, to the source's reference. Only the
    /// bytes of `newTag` / `digest` values change (an entry or `images:` is added in the file's
    /// style when missing); comments, key order and quoting stay. The edited overlay is
    /// rendered again and must use exactly the source's images.
    ///
    /// Prints, per target, `image old → new` lines and the files changed; with --dry-run, the
    /// unified diff instead, writing nothing. All or nothing: when an image cannot be promoted
    /// automatically (it is set by a patch, two entries conflict, no source target matches…),
    /// nothing is written and every problem is listed with the file to edit by hand. See
    /// docs/promote.md.
    ///
    /// Exit status: 0 when promoted or already up to date, 1 when some image cannot be
    /// promoted automatically, 2 on usage errors (unknown environment, no source environment).
    #[command(
        after_help = "Examples:\n  warden promote --to production --dry-run\n  warden promote --repo ../gitops --from staging --to production"
    )]
    Promote(PromoteArgs),
    /// Run Warden as a GitHub App: receive webhooks, check every pull request to a config repo
    /// and post a `warden` check run and one sticky comment with the rendered diff.
    ///
    /// Configuration comes from the environment, or from a TOML file (--config) with the same
    /// keys (the environment wins): WARDEN_APP_ID, WARDEN_PRIVATE_KEY (PEM) or
    /// WARDEN_PRIVATE_KEY_PATH, WARDEN_WEBHOOK_SECRET, WARDEN_GITHUB_API_URL (default
    /// https://api.github.com), WARDEN_LISTEN (default 0.0.0.0:3000), WARDEN_DATA_DIR (default
    /// ./warden-data, the embedded state), WARDEN_WORKERS (default 4), WARDEN_RECONCILE_INTERVAL
    /// (default 10m), WARDEN_SIGNING_KEY_PATH (the `warden keygen` key that signs deploy
    /// approvals; without it none are posted). A missing or bad value stops start-up with a
    /// message naming it.
    ///
    /// Routes: POST /webhook, GET /healthz, GET /readyz, GET /metrics. Logs are JSON lines on
    /// standard error (RUST_LOG sets the level, default info). SIGTERM or Ctrl-C stops it;
    /// accepted deliveries stay queued for the next start. See docs/serve.md.
    #[command(
        after_help = "Example:\n  WARDEN_APP_ID=123456 WARDEN_PRIVATE_KEY_PATH=app.pem WARDEN_WEBHOOK_SECRET=… warden serve"
    )]
    Serve {
        /// A TOML file with the same keys as the environment.
        #[arg(long, env = "WARDEN_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Make an Ed25519 key pair for signing deploy approvals.
    ///
    /// Writes the private key (PKCS#8 PEM, mode 0600) to --out and the public key to
    /// --out with `.pub` appended, then prints the public key and its key id. `warden serve`
    /// signs with the private key (WARDEN_SIGNING_KEY_PATH); give the public key to every
    /// `warden-agent` (WARDEN_AGENT_PUBLIC_KEYS). To rotate, make a new pair, add its public key
    /// to the agents' file next to the old one, then switch Warden to the new private key.
    /// See docs/approvals.md.
    #[command(after_help = "Example:\n  warden keygen --out warden-signing.pem")]
    Keygen {
        /// Where to write the private key; refuses to overwrite an existing file.
        #[arg(long, default_value = "warden-signing.pem", value_name = "FILE")]
        out: PathBuf,
    },
    /// List the holds placed with `/warden hold` (kept by `warden serve` in WARDEN_DATA_DIR).
    ///
    /// A hold on a pull request keeps it from auto-merge and promotion; a hold on an
    /// environment also keeps every deploy-branch commit from that environment's deploy
    /// approval. Lift one with `/warden unhold [ENV]` on the pull request. See docs/chatops.md.
    #[command(
        after_help = "Example:\n  warden holds --data-dir /var/lib/warden --repo acme/gitops"
    )]
    Holds {
        /// `warden serve`'s data directory.
        #[arg(
            long,
            env = "WARDEN_DATA_DIR",
            default_value = "warden-data",
            value_name = "DIR"
        )]
        data_dir: PathBuf,
        /// Only this repository (owner/name).
        #[arg(long, value_name = "OWNER/NAME")]
        repo: Option<String>,
        /// text (a line per hold) or json.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Warden's main job on a bundled demo, with no GitHub account and no network.
    ///
    /// Starts a GitHub simulator on loopback holding a copy of the demo config repo, starts
    /// Warden as a GitHub App against it, opens two pull requests (Renovate bumping a staging
    /// image, and a change that breaks a production policy) and prints what GitHub would show
    /// on each: the check run's conclusion, summary and annotations, and Warden's comment. Then
    /// it merges the Renovate PR, shows the signed deploy approvals Warden posts on the merge
    /// commit, and runs one pass of `warden-agent` (apply mode) deploying it to staging, on a
    /// stand-in Kubernetes API.
    Demo {
        /// The config repo to load into the simulator.
        #[arg(long, default_value = "fixtures/demo", value_name = "DIR")]
        repo: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Findings grouped by file, for people.
    Text,
    /// `{"targets":[…],"findings":[…],"summary":{…}}`.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
enum DiffFormat {
    /// A unified diff per object, grouped by target.
    Text,
    /// The pull request comment Warden posts (GitHub-flavoured markdown).
    Markdown,
    /// `{"base","head","targets":[…],"summary":{…}}`.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `check` and `diff` keep 1 for "errors found" / "renders differ"; their failures are 2.
    let status_one_taken = matches!(
        cli.command,
        Command::Check(_) | Command::Diff(_) | Command::Promote(_)
    );
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:#}");
            if status_one_taken {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check(args),
        Command::Diff(args) => diff(args),
        Command::Promote(args) => promote(args),
        Command::Serve { config } => serve(config.as_deref()),
        Command::Demo { repo } => demo(&repo),
        Command::Keygen { out } => keygen(&out),
        Command::Holds {
            data_dir,
            repo,
            format,
        } => holds(&data_dir, repo.as_deref(), &format),
        Command::Render {
            dir,
            output,
            inputs,
            origins,
        } => {
            let abs = std::path::absolute(&dir)
                .with_context(|| format!("cannot resolve {}", dir.display()))?;
            let rendered = kustomize::build(&DiskFs, &abs, &BuildOptions::default())?;
            let mut out: Box<dyn Write> = match &output {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("cannot write {}", p.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            if inputs {
                for p in &rendered.inputs {
                    writeln!(out, "{}", kustomize::fs::relative(p, &abs))?;
                }
            } else {
                rendered.write_yaml(&mut out)?;
            }
            out.flush()?;
            if origins {
                for r in &rendered.resources {
                    let patches: Vec<String> = r
                        .origin
                        .patches
                        .iter()
                        .map(|p| format!("{}:{}", p.file, p.line))
                        .collect();
                    eprintln!("{}\t{}\t{}", r.cur_id(), r.origin, patches.join(","));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The repository (or any directory of files) to check.
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// Check only targets affected by changes since this git revision (compared from the
    /// merge base, as a pull request is).
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// Check this git revision (read through git) instead of the working tree.
    #[arg(long, value_name = "REV")]
    head: Option<String>,
    /// Only targets of this environment.
    #[arg(long = "env", value_name = "NAME")]
    environment: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Organisation-wide defaults (the org's `.github` repo `warden.yml`); the repo's
    /// `.github/warden.yml` overrides them key by key.
    #[arg(long, value_name = "FILE")]
    org_config: Option<PathBuf>,
    /// The repository's `owner/name`, given to policies as `data.warden.repo`
    /// (default: the directory name).
    #[arg(long, value_name = "OWNER/NAME")]
    repo_name: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
}

/// Where output goes, and whether it is colored.
#[derive(clap::Args)]
struct OutputArgs {
    /// Colors in text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Write the output to this file instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
}

impl OutputArgs {
    /// Whether to color: as asked, or on a terminal without `NO_COLOR`.
    fn color(&self) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                self.output.is_none()
                    && std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none()
            }
        }
    }

    /// Write to the file, or to standard output.
    fn emit(&self, text: &str) -> Result<()> {
        match &self.output {
            Some(p) => {
                std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?
            }
            None => std::io::stdout().lock().write_all(text.as_bytes())?,
        }
        Ok(())
    }
}

fn check(a: CheckArgs) -> Result<ExitCode> {
    if !a.repo.is_dir() {
        bail!("--repo {}: not a directory", a.repo.display());
    }
    let snap = match &a.head {
        Some(rev) => Snapshot::from_git(&a.repo, rev)?,
        None => Snapshot::from_dir(&a.repo)?,
    };
    let changed = match &a.base {
        Some(base) => Some(git::changed_files(&a.repo, base, a.head.as_deref())?),
        None => None,
    };
    let org = read_org_config(a.org_config.as_deref())?;
    let (config, config_errors) = warden::checks::run::load_config(
        &snap,
        org.as_ref().map(|(p, t)| (p.as_str(), t.as_str())),
    );
    let opts = CheckOptions {
        environment: a.environment,
        changed,
        repo_name: a.repo_name.unwrap_or_else(|| dir_name(snap.root())),
        threads: 0,
    };
    let report = warden::checks::run::check(&snap, &config, config_errors, &opts);
    let color = a.out.color();
    let text = match a.format {
        Format::Text => warden::report::check::text(&report, color),
        Format::Json => serde_json::to_string_pretty(&warden::report::check::json(&report))? + "\n",
        Format::Sarif => {
            let sarif =
                warden::report::check::sarif(&report, &all_rules(), env!("CARGO_PKG_VERSION"));
            serde_json::to_string_pretty(&sarif)? + "\n"
        }
    };
    a.out.emit(&text)?;
    Ok(if report.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(clap::Args)]
struct DiffArgs {
    /// The repository to compare in.
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// The revision the change is compared against (its merge base with the head is used).
    #[arg(long, value_name = "REV")]
    base: String,
    /// The revision with the change (default: the working tree, uncommitted files included).
    #[arg(long, value_name = "REV")]
    head: Option<String>,
    /// Only targets of this environment.
    #[arg(long = "env", value_name = "NAME")]
    environment: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    format: DiffFormat,
    /// Organisation-wide defaults (see `warden check --help`).
    #[arg(long, value_name = "FILE")]
    org_config: Option<PathBuf>,
    /// The repository's `owner/name`, for policies and the markdown (default: the directory name).
    #[arg(long, value_name = "OWNER/NAME")]
    repo_name: Option<String>,
    /// Exit with status 1 when the renders differ (like `git diff --exit-code`).
    #[arg(long)]
    exit_code: bool,
    #[command(flatten)]
    out: OutputArgs,
}

fn diff(a: DiffArgs) -> Result<ExitCode> {
    if !a.repo.is_dir() {
        bail!("--repo {}: not a directory", a.repo.display());
    }
    let from = git::merge_base(&a.repo, &a.base, a.head.as_deref())?;
    let base = Snapshot::from_git(&a.repo, &from)?;
    let head = match &a.head {
        Some(rev) => Snapshot::from_git(&a.repo, rev)?,
        None => Snapshot::from_dir(&git::toplevel(&a.repo)?)?,
    };
    let org = read_org_config(a.org_config.as_deref())?;
    let org = org.as_ref().map(|(p, t)| (p.as_str(), t.as_str()));
    let (config, config_errors) = warden::checks::run::load_config(&head, org);
    let opts = DiffOptions {
        environment: a.environment.clone(),
        threads: 0,
    };
    let report = warden::diff::run::diff_snapshots(&base, &head, &config, &opts);
    let text = match a.format {
        DiffFormat::Text => warden::report::diff::text(&report, a.out.color()),
        DiffFormat::Json => {
            serde_json::to_string_pretty(&warden::report::diff::json(&report))? + "\n"
        }
        DiffFormat::Markdown => {
            let check_opts = CheckOptions {
                environment: a.environment.clone(),
                changed: Some(warden::diff::run::changed_files(&base, &head)),
                repo_name: a.repo_name.clone().unwrap_or_else(|| dir_name(head.root())),
                threads: 0,
            };
            let checked = warden::checks::run::check(&head, &config, config_errors, &check_opts);
            let ctx = ReportContext {
                base: &a.base,
                head: a.head.as_deref(),
                diff_mode: config.comments.diff,
            };
            warden::report::markdown::comment(&checked, &report, &ctx)
        }
    };
    a.out.emit(&text)?;
    let differs = report.targets.iter().any(|t| !t.diff.is_empty());
    Ok(if a.exit_code && differs {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(clap::Args)]
struct PromoteArgs {
    /// The config repo checkout to edit.
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// The environment to promote to.
    #[arg(long, value_name = "ENV")]
    to: String,
    /// The environment to promote from (default: the one before --to in `environments:`).
    #[arg(long, value_name = "ENV")]
    from: Option<String>,
    /// Print the unified diff of the files instead of writing them.
    #[arg(long)]
    dry_run: bool,
}

fn promote(a: PromoteArgs) -> Result<ExitCode> {
    if !a.repo.is_dir() {
        bail!("--repo {}: not a directory", a.repo.display());
    }
    let snap = Snapshot::from_dir(&a.repo)?;
    let (config, config_errors) = warden::checks::run::load_config(&snap, None);
    if !config_errors.is_empty() {
        let list: Vec<String> = config_errors
            .iter()
            .map(|f| {
                format!(
                    "{}:{}: {}",
                    f.file.as_deref().unwrap_or(".github/warden.yml"),
                    f.line,
                    f.message
                )
            })
            .collect();
        bail!("invalid repo config:\n{}", list.join("\n"));
    }
    let p = warden::promote::plan::plan(&snap, &config, a.from.as_deref(), &a.to)?;
    if !p.problems.is_empty() {
        eprintln!(
            "cannot promote {} to {}; nothing was written:",
            p.from, p.to
        );
        for problem in &p.problems {
            eprintln!("  - {problem}");
        }
        return Ok(ExitCode::from(1));
    }
    let mut out = std::io::stdout().lock();
    if p.up_to_date() {
        writeln!(out, "{} is already up to date with {}", p.to, p.from)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "Promoting {} → {}", p.from, p.to)?;
    for t in p.targets.iter().filter(|t| !t.images.is_empty()) {
        writeln!(out, "{} (from {}):", t.to_dir, t.from_dir)?;
        for i in &t.images {
            writeln!(out, "  {} → {}", i.old, i.new)?;
        }
    }
    if a.dry_run {
        for f in &p.files {
            write!(out, "{}", f.unified_diff())?;
        }
        writeln!(out, "Dry run: nothing written.")?;
        return Ok(ExitCode::SUCCESS);
    }
    for f in &p.files {
        let path = snap.path(&f.path);
        std::fs::write(&path, &f.after)
            .with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(out, "Changed {}", f.path)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `--org-config FILE`: its name and text.
fn read_org_config(path: Option<&Path>) -> Result<Option<(String, String)>> {
    path.map(|p| {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        Ok((p.display().to_string(), text))
    })
    .transpose()
}

fn dir_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "repo".into())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn serve(config: Option<&Path>) -> Result<ExitCode> {
    use warden::app::config::ServeConfig;
    use warden::app::serve;
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let file = match config {
        Some(p) => Some((
            p.display().to_string(),
            std::fs::read_to_string(p).with_context(|| format!("WARDEN_CONFIG {}", p.display()))?,
        )),
        None => None,
    };
    let cfg = ServeConfig::load(
        &|k| std::env::var(k).ok(),
        file.as_ref().map(|(p, t)| (p.as_str(), t.as_str())),
        &|p| std::fs::read_to_string(p),
    )?;
    let listen = cfg.listen;
    runtime()?.block_on(async move {
        let prepared = serve::prepare(serve::WardenSetup::from_config(cfg))?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("WARDEN_LISTEN {listen}: cannot listen"))?;
        tracing::info!(addr = %listener.local_addr()?, "warden serve listening");
        prepared
            .serve(listener, warden::app::shutdown_signal())
            .await?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

fn demo(repo: &Path) -> Result<ExitCode> {
    // From anywhere: the bundled demo is found next to the sources when not under the cwd.
    let dir = if repo.is_dir() || repo != Path::new("fixtures/demo") {
        repo.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(repo)
    };
    if !dir.is_dir() {
        bail!("{}: no such directory", dir.display());
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let report = runtime()?.block_on(warden::demo::run(&dir, 0))?;
    let mut out = std::io::stdout().lock();
    warden::demo::write_text(&report, &mut out)?;
    Ok(ExitCode::SUCCESS)
}

fn holds(data_dir: &Path, repo: Option<&str>, format: &str) -> Result<ExitCode> {
    let db = data_dir.join(warden::app::serve::DB_FILE);
    if !db.exists() {
        bail!(
            "no state database at {} (is WARDEN_DATA_DIR / --data-dir warden serve's?)",
            db.display()
        );
    }
    let store = warden::store::Store::open(&db)?;
    let holds = store.holds(repo)?;
    if format == "json" {
        let list: Vec<serde_json::Value> = holds
            .iter()
            .map(|h| {
                serde_json::json!({
                    "repo": h.repo,
                    "pull_request": h.pr,
                    "environment": h.environment,
                    "reason": h.reason,
                    "by": h.by,
                    "comment_url": h.comment_url,
                    "created": warden::github::client::format_time(h.created_ms / 1000),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    if holds.is_empty() {
        println!("no holds");
    }
    for h in &holds {
        let what = match (&h.pr, &h.environment) {
            (Some(n), _) => format!("{}#{n}", h.repo),
            (None, Some(e)) => format!("{} environment {e}", h.repo),
            (None, None) => h.repo.clone(),
        };
        let reason = if h.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", h.reason)
        };
        println!(
            "{what}  held by {} at {}{reason}  {}",
            h.by,
            warden::github::client::format_time(h.created_ms / 1000),
            h.comment_url
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn keygen(out: &Path) -> Result<ExitCode> {
    use secrecy::ExposeSecret;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    let signer = warden::signal::Signer::from_seed(&seed);
    seed.fill(0);
    let public_path = {
        let mut p = out.as_os_str().to_owned();
        p.push(".pub");
        PathBuf::from(p)
    };
    for p in [out, public_path.as_path()] {
        if p.exists() {
            bail!("{} exists; not overwriting a key", p.display());
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    file.write_all(signer.private_pem().expose_secret().as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    std::fs::write(&public_path, signer.public_pem())
        .with_context(|| format!("cannot write {}", public_path.display()))?;
    println!(
        "private key: {} (keep it secret: WARDEN_SIGNING_KEY_PATH)",
        out.display()
    );
    println!(
        "public key:  {} (for warden-agent: WARDEN_AGENT_PUBLIC_KEYS)",
        public_path.display()
    );
    println!("key id:      {}", signer.key_id());
    print!("{}", signer.public_pem());
    Ok(ExitCode::SUCCESS)
}
