//! `warden`: guards GitOps config repositories.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use warden::kustomize::{self, BuildOptions, fs::DiskFs};

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
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
            Ok(())
        }
    }
}
