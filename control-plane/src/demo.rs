//! `mtm-server demo`: placeholder; the integrator replaces this file.

/// Options of `mtm-server demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Folder for the demo's database, keys and agent state.
    #[arg(long, default_value = "demo-data")]
    pub data_dir: std::path::PathBuf,
    /// HTTP port (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub http_port: u16,
}

/// Run the demo.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("not yet: the demo is not built yet")
}
