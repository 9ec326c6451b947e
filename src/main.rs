//! The `cocreate` command: run a node, manage accounts, run migrations.

use clap::{Parser, Subcommand};
use cocreate::config::{ConfigArgs, Settings};

#[derive(Parser)]
#[command(
    name = "cocreate",
    version,
    about = "A self-hosted node for federated, cross-company co-creation"
)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the node (HTTP server and delivery worker).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage local accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a local account; prints its API token as the last line.
    Add {
        name: String,
        /// Staff can create rooms and change idea stages.
        #[arg(long)]
        staff: bool,
    },
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(&cli.config).map_err(anyhow::Error::msg)?;
    match cli.command {
        Command::Serve => cocreate::serve(settings).await,
        Command::Migrate => {
            cocreate::build_state(settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::User {
            command: UserCommand::Add { name, staff },
        } => {
            let ctx = cocreate::build_state(settings).await?;
            let (actor, token) = cocreate::service::accounts::create_user(
                &ctx.db,
                &ctx.urls,
                &ctx.settings.domain,
                &name,
                staff,
            )
            .await?;
            println!(
                "created {} ({}){}",
                actor.handle(),
                actor.ap_id,
                if staff { " as staff" } else { "" }
            );
            println!("{token}");
            Ok(())
        }
    }
}
