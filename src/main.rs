//! The `cocreate` command: run a node, manage accounts, run migrations, look after the
//! delivery queue.

use clap::{Parser, Subcommand};
use cocreate::config::{ConfigArgs, LogFormat, Settings};

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
    /// Rooms: create, invite, answer requests, phases, terms (acting as a local user).
    Room {
        #[command(subcommand)]
        command: RoomCommand,
        /// The local user acting (a steward of the room, or staff).
        #[arg(long = "as", global = true)]
        acting: Option<String>,
    },
    /// Domain blocks: refuse a host's activities and fetches, and stop deliveries to it.
    Block {
        #[command(subcommand)]
        command: BlockCommand,
    },
    /// Handoffs of ideas between organisations (acting as a local staff user).
    Handoff {
        #[command(subcommand)]
        command: HandoffCommand,
        #[arg(long = "as", global = true)]
        acting: Option<String>,
    },
    /// The outbound delivery queue: list deliveries, retry dead letters, purge them.
    Deliveries {
        #[command(subcommand)]
        command: DeliveriesCommand,
    },
}

#[derive(Subcommand)]
enum DeliveriesCommand {
    /// List deliveries, newest first, then the hosts that are backing off or parked.
    List {
        /// pending, delivered, failed or dead.
        #[arg(long)]
        state: Option<String>,
        /// At most this many (default 50).
        #[arg(long)]
        limit: Option<i64>,
    },
    /// Queue a dead (or failed) delivery again, due now; with --all, every dead delivery.
    Retry {
        id: Option<i32>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Delete every dead delivery.
    Purge,
}

#[derive(Subcommand)]
enum RoomCommand {
    /// Create a room.
    Add {
        name: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        summary: String,
        /// public, partners or private.
        #[arg(long, default_value = "public")]
        visibility: String,
    },
    /// Invite a person or an organisation (name@host) with a role.
    Invite {
        room: String,
        handle: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        partner_kind: Option<String>,
    },
    /// List pending requests to join.
    Requests { room: String },
    /// Approve a request with a role.
    Approve {
        room: String,
        request: i32,
        #[arg(long)]
        role: String,
        #[arg(long)]
        partner_kind: Option<String>,
    },
    /// Refuse a request, with a reason.
    Refuse {
        room: String,
        request: i32,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Replace the room's phases with those in a JSON file (a list of phases).
    Phases {
        room: String,
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Move the room to its next phase.
    NextPhase { room: String },
    /// Declare the room's contribution terms.
    Terms {
        room: String,
        #[arg(long)]
        spdx: Option<String>,
        #[arg(long)]
        text: Option<String>,
        #[arg(long)]
        version: String,
    },
}

#[derive(Subcommand)]
enum HandoffCommand {
    /// List offers, received and sent.
    List {
        /// incoming or outgoing.
        #[arg(long)]
        direction: Option<String>,
    },
    /// Accept an offered idea into a room.
    Accept {
        id: i32,
        #[arg(long)]
        room: String,
    },
    /// Decline an offered idea, with a reason.
    Reject {
        id: i32,
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Subcommand)]
enum BlockCommand {
    /// Block a host (and its subdomains; with :PORT, that port only).
    Add {
        host: String,
        /// Why, for staff (never shown to the blocked host).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift the block of a host.
    Remove { host: String },
    /// List blocked hosts (JSON).
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a local account; prints its API token as the last line.
    Add {
        name: String,
        /// Staff can create rooms and change idea stages.
        #[arg(long)]
        staff: bool,
        /// Read a web sign-in password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// jemalloc (tikv-jemallocator, the allocator of TiKV and rustc): per-thread caches, so that
/// the node's threads (HTTP workers, the database writer, blocking readers) do not take a
/// lock for each allocation, as they did in glibc's two arenas (a fifth of the database
/// writer's time went to malloc and its mutex, BENCHMARKS.md), while resident memory stays
/// near glibc's. mimalloc was as fast but held 33 MB idle and 85 MB after the benchmark
/// (jemalloc 22 and 37).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    limit_malloc_arenas();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    runtime.block_on(async_main());
}

/// glibc's malloc still serves the C libraries (SQLite, libpq, AWS-LC). It gives threads that
/// allocate at the same time heaps of their own ("arenas", up to 8 per core), and each keeps
/// its freed memory; the node's database work runs on many blocking threads, so a large read
/// leaves its garbage spread over many heaps. Two arenas keep the resident memory near what is
/// in use (BENCHMARKS.md, 2026-12-02). `MALLOC_ARENA_MAX`, when set, is left to glibc.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a tuning parameter of glibc's allocator; it is called
        // before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

async fn async_main() {
    let cli = Cli::parse();
    // Settings first: they say how to log. A wrong setting is one line on standard error.
    let settings = match Settings::load(&cli.config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    init_logging(settings.log_format);
    if let Err(e) = run(cli, settings).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// Logs to standard error, filtered by `RUST_LOG`, as text or one JSON object a line.
fn init_logging(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => cocreate::serve(settings).await,
        Command::Migrate => {
            cocreate::build_state(settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Room { command, acting } => {
            let ctx = cocreate::build_state(settings).await?;
            let user = acting_user(&ctx, acting).await?;
            let out = run_room(&ctx, &user, command).await?;
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Command::Block { command } => {
            use cocreate::service::blocks::{self, By};
            let ctx = cocreate::build_state(settings).await?;
            match command {
                BlockCommand::Add { host, reason } => {
                    let (block, new) = blocks::add(&ctx, By::Operator, &host, reason).await?;
                    if new {
                        println!("blocked {}", block.host);
                    } else {
                        println!("{} was already blocked", block.host);
                    }
                }
                BlockCommand::Remove { host } => {
                    blocks::remove(&ctx, By::Operator, &host).await?;
                    println!("unblocked {}", blocks::normalize_host(&host)?);
                }
                BlockCommand::List => {
                    let list = blocks::list(&ctx, By::Operator).await?;
                    println!("{}", serde_json::to_string_pretty(&list)?);
                }
            }
            Ok(())
        }
        Command::Handoff { command, acting } => {
            use cocreate::service::handoffs;
            let ctx = cocreate::build_state(settings).await?;
            let user = acting_user(&ctx, acting).await?;
            let out = match command {
                HandoffCommand::List { direction } => {
                    let incoming = match direction.as_deref() {
                        None => None,
                        Some("incoming") => Some(true),
                        Some("outgoing") => Some(false),
                        Some(other) => {
                            anyhow::bail!("--direction: '{other}' is not incoming or outgoing")
                        }
                    };
                    serde_json::to_value(handoffs::list(&ctx, &user, incoming).await?)?
                }
                HandoffCommand::Accept { id, room } => {
                    serde_json::to_value(handoffs::accept(&ctx, user, id, &room).await?)?
                }
                HandoffCommand::Reject { id, reason } => {
                    serde_json::to_value(handoffs::reject(&ctx, user, id, &reason).await?)?
                }
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Command::Deliveries { command } => {
            let ctx = cocreate::build_state(settings).await?;
            run_deliveries(&ctx, command).await
        }
        Command::User {
            command:
                UserCommand::Add {
                    name,
                    staff,
                    password_stdin,
                },
        } => {
            // Read and checked before anything is created.
            let password = password_stdin.then(read_password_line).transpose()?;
            let ctx = cocreate::build_state(settings).await?;
            let (actor, token) = match password {
                Some(password) => {
                    cocreate::service::sessions::create_user_with_password(
                        &ctx, &name, staff, &password,
                    )
                    .await?
                }
                None => {
                    cocreate::service::accounts::create_user(
                        &ctx.db,
                        &ctx.urls,
                        &ctx.settings.domain,
                        &name,
                        staff,
                    )
                    .await?
                }
            };
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

/// `cocreate deliveries ...`: the operator's console on the delivery queue, one line per item.
async fn run_deliveries(
    ctx: &cocreate::state::Ctx,
    command: DeliveriesCommand,
) -> anyhow::Result<()> {
    use cocreate::service::deliveries::{self, Operator};
    let by = Operator::Console;
    match command {
        DeliveriesCommand::List { state, limit } => {
            let state = state
                .as_deref()
                .map(deliveries::parse_state)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--state: {e}"))?;
            let rows = deliveries::list(ctx, by, state, limit)
                .await
                .map_err(|e| match e {
                    cocreate::error::Error::BadRequest(m) => anyhow::anyhow!("--limit: {m}"),
                    e => e.into(),
                })?;
            if rows.is_empty() {
                match state {
                    Some(s) => println!("no {s} deliveries"),
                    None => println!("no deliveries"),
                }
            }
            for d in rows {
                let when = match d.state {
                    cocreate::domain::kinds::DeliveryState::Pending => {
                        format!(
                            " next try {}",
                            d.next_attempt_at.format("%Y-%m-%d %H:%M:%S")
                        )
                    }
                    _ => String::new(),
                };
                println!(
                    "{} {} attempts={} queued {}{} to {} activity {}{}",
                    d.id,
                    d.state,
                    d.attempts,
                    d.created_at.format("%Y-%m-%d %H:%M:%S"),
                    when,
                    d.inbox,
                    d.activity,
                    d.last_error
                        .map(|e| format!(" last error: {}", one_line(&e)))
                        .unwrap_or_default(),
                );
            }
            for h in deliveries::troubled_hosts(ctx, by).await? {
                let status = match h.parked_since {
                    Some(t) => format!("parked since {}", t.format("%Y-%m-%d %H:%M:%S")),
                    None => "backing off".to_string(),
                };
                println!(
                    "host {} {status}, {} failures in a row, next try {}{}",
                    h.host,
                    h.failures,
                    h.retry_at
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_else(|| "now".into()),
                    h.last_error
                        .map(|e| format!(", last error: {}", one_line(&e)))
                        .unwrap_or_default(),
                );
            }
        }
        DeliveriesCommand::Retry { id: Some(id), .. } => {
            let d = deliveries::retry(ctx, by, id).await?;
            println!(
                "delivery {} queued again to {} (activity {})",
                d.id, d.inbox, d.activity
            );
        }
        DeliveriesCommand::Retry {
            id: None,
            all: true,
        } => {
            let n = deliveries::retry_all_dead(ctx, by).await?;
            println!("{n} dead deliveries queued again");
        }
        DeliveriesCommand::Retry {
            id: None,
            all: false,
        } => {
            anyhow::bail!("retry: give a delivery ID, or --all for every dead delivery")
        }
        DeliveriesCommand::Purge => {
            let n = deliveries::purge_dead(ctx, by).await?;
            println!("purged {n} dead deliveries");
        }
    }
    Ok(())
}

/// Collapses a peer's answer onto one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The password for `--password-stdin`: the first line of standard input without its line end,
/// checked against the password rules.
fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| anyhow::anyhow!("--password-stdin: cannot read standard input: {e}"))?;
    let password = line
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(&line);
    cocreate::service::sessions::check_password_rules(password)
        .map_err(|e| anyhow::anyhow!("--password-stdin: {e}"))?;
    Ok(password.to_string())
}

/// The local person a command acts as (`--as NAME`).
async fn acting_user(
    ctx: &cocreate::state::Ctx,
    name: Option<String>,
) -> anyhow::Result<cocreate::store::models::Actor> {
    let name = name.ok_or_else(|| anyhow::anyhow!("--as: name the local user who acts"))?;
    let n = name.clone();
    ctx.db
        .read(move |c| cocreate::store::actors::local_by_name(c, &n))
        .await?
        .filter(|a| a.kind == cocreate::domain::kinds::ActorKind::Person)
        .ok_or_else(|| anyhow::anyhow!("--as: no local user '{name}'"))
}

async fn run_room(
    ctx: &cocreate::state::Ctx,
    user: &cocreate::store::models::Actor,
    command: RoomCommand,
) -> anyhow::Result<serde_json::Value> {
    use cocreate::service::{invitations, members, rooms};
    Ok(match command {
        RoomCommand::Add {
            name,
            title,
            summary,
            visibility,
        } => {
            let room = rooms::create(
                ctx,
                user,
                rooms::NewRoom {
                    name,
                    title,
                    summary,
                    visibility,
                },
            )
            .await?;
            serde_json::json!({"handle": room.handle(), "ap_id": room.ap_id})
        }
        RoomCommand::Invite {
            room,
            handle,
            role,
            partner_kind,
        } => {
            let (role, kind) = members::parse_role(&role, partner_kind.as_deref())?;
            serde_json::to_value(
                invitations::invite(ctx, user.clone(), room, &handle, role, kind).await?,
            )?
        }
        RoomCommand::Requests { room } => {
            serde_json::to_value(members::list_requests(ctx, user, &room).await?)?
        }
        RoomCommand::Approve {
            room,
            request,
            role,
            partner_kind,
        } => {
            let (role, kind) = members::parse_role(&role, partner_kind.as_deref())?;
            members::approve_request(ctx, user.clone(), room, request, role, kind).await?;
            serde_json::json!({"approved": request})
        }
        RoomCommand::Refuse {
            room,
            request,
            reason,
        } => {
            members::refuse_request(ctx, user.clone(), room, request, reason).await?;
            serde_json::json!({"refused": request})
        }
        RoomCommand::Phases { room, file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("--file: cannot read {}: {e}", file.display()))?;
            let phases = serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!("--file: {} is not a list of phases: {e}", file.display())
            })?;
            serde_json::to_value(rooms::set_phases(ctx, user, &room, phases).await?)?
        }
        RoomCommand::NextPhase { room } => {
            serde_json::to_value(rooms::next_phase(ctx, user, &room).await?)?
        }
        RoomCommand::Terms {
            room,
            spdx,
            text,
            version,
        } => {
            rooms::set_terms(ctx, user, &room, spdx, text, version).await?;
            serde_json::json!({"terms": "set"})
        }
    })
}
