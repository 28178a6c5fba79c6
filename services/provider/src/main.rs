//! `booth-provider`: the reference provider's server and admin command line.

use booth_provider::{App, Settings};
use booth_provider_client::wire::{Consent, Partition, PersonInfo, FACE_MODEL};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "booth-provider", version, about = "The reference booth-provider/v1 server")]
struct Cli {
    /// The configuration file (mode 0600: it holds the terminals' secrets).
    #[arg(long, short, default_value = "/etc/booth-provider/booth-provider.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the contract (logs are JSON lines on stderr; RUST_LOG filters them).
    Serve,
    #[command(subcommand)]
    Person(PersonCmd),
    /// Everyone enrolled, with consents, as JSON (no templates).
    Export,
    /// The latest audit rows, as JSON lines.
    Audit {
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Wallets: top-ups, refunds, balances, member codes (amounts in fen: 1 元 = 100).
    #[command(subcommand)]
    Wallet(WalletCmd),
    /// A day's reconciliation as JSON: charges, refunds and top-ups (count, sum in fen), in all
    /// and per terminal key id; the day is taken at `utc_offset_minutes` (default UTC+8).
    Report {
        /// YYYY-MM-DD
        #[arg(long)]
        day: String,
    },
}

#[derive(Subcommand)]
enum WalletCmd {
    /// Adds money to a person's wallet; prints the new balance.
    TopUp {
        person: String,
        /// Fen (1 元 = 100).
        #[arg(long)]
        fen: i64,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Refunds part or all of a payment to its payer; prints the refund as JSON.
    Refund {
        #[arg(long)]
        out_trade_no: String,
        #[arg(long)]
        fen: i64,
        /// Give one to make a retry of this command safe (the same number refunds once).
        #[arg(long, default_value = "")]
        out_refund_no: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// A person's balance and ledger, as JSON.
    Show { person: String },
    /// Issues a new member code for a person (the old one stops working); printed only now.
    Code { person: String },
}

#[derive(Subcommand)]
enum PersonCmd {
    /// Enrols a person from a photo (needs models_dir); the operator records their consent.
    /// Without --photo: a member without a face, who pays with a member code (`wallet code`).
    Add {
        #[arg(long)]
        photo: Option<PathBuf>,
        #[arg(long, default_value = "")]
        id_number: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, default_value = "")]
        org: String,
        #[arg(long, default_value = "")]
        component: String,
        /// What the person agreed to (recorded with the time).
        #[arg(long, default_value = "本人同意以人脸特征登记身份 (管理员录入)")]
        consent: String,
    },
    /// Removes a person with every template, consent and session.
    Delete {
        id: String,
    },
    List,
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
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("booth-provider: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print<T: serde::Serialize>(v: &T) -> Result<(), String> {
    println!("{}", serde_json::to_string_pretty(v).map_err(|e| e.to_string())?);
    Ok(())
}

fn run(cli: Cli) -> Result<(), String> {
    let settings = Settings::load(&cli.config)?;
    let app = App::open(settings)?;
    match cli.command {
        Command::Serve => {
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
            rt.block_on(async {
                let running = app.serve().await.map_err(|e| format!("listen: {e}"))?;
                tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
                running.stop().await;
                Ok(())
            })
        }
        Command::Person(PersonCmd::Add { photo: None, id_number, name, org, component, .. }) => {
            let id = booth_provider::server::new_person_id();
            let info = PersonInfo { name, id_number, ..Default::default() };
            app.store
                .add_member(&id, &Partition { org_out_id: org, component_out_id: component }, &info)
                .map_err(|e| e.to_string())?;
            app.store.audit("admin", "admin", "person.add", &id, "MEMBER");
            println!("{id}");
            Ok(())
        }
        Command::Person(PersonCmd::Add { photo: Some(photo), id_number, name, org, component, consent }) => {
            let bytes = std::fs::read(&photo).map_err(|e| format!("{}: {e}", photo.display()))?;
            let template = app.embed_photo(&bytes).map_err(|r| format!("{}: {}", r.0, r.1))?;
            let id = booth_provider::server::new_person_id();
            let info = PersonInfo { name, id_number, ..Default::default() };
            let consent =
                Consent { text: consent, accepted_at: booth_provider_client::sign::now_s(), terminal: "admin".into() };
            app.store
                .add_person(
                    &id,
                    &Partition { org_out_id: org, component_out_id: component },
                    &info,
                    FACE_MODEL,
                    &template,
                    &consent,
                )
                .map_err(|e| e.to_string())?;
            app.store.audit("admin", "admin", "person.add", &id, "ENROLLED");
            println!("{id}");
            Ok(())
        }
        Command::Person(PersonCmd::Delete { id }) => {
            if !app.store.delete_person(&id).map_err(|e| e.to_string())? {
                return Err(format!("no person {id}"));
            }
            app.store.audit("admin", "admin", "person.delete", &id, "DELETED");
            println!("deleted {id}");
            Ok(())
        }
        Command::Person(PersonCmd::List) | Command::Export => print(&app.store.people().map_err(|e| e.to_string())?),
        Command::Wallet(WalletCmd::TopUp { person, fen, note }) => {
            let balance = booth_provider::pay::top_up(&app, &person, fen, &note)?;
            println!("{balance}");
            Ok(())
        }
        Command::Wallet(WalletCmd::Refund { out_trade_no, fen, out_refund_no, reason }) => {
            print(&booth_provider::pay::admin_refund(&app, &out_trade_no, &out_refund_no, fen, &reason)?)
        }
        Command::Wallet(WalletCmd::Show { person }) => print(&booth_provider::pay::wallet(&app, &person)?),
        Command::Wallet(WalletCmd::Code { person }) => {
            println!("{}", booth_provider::pay::issue_member_code(&app, &person)?);
            Ok(())
        }
        Command::Report { day } => print(&booth_provider::pay::report(&app, &day)?),
        Command::Audit { limit } => {
            for row in app.store.audit_rows(limit).map_err(|e| e.to_string())? {
                println!("{}", serde_json::to_string(&row).map_err(|e| e.to_string())?);
            }
            Ok(())
        }
    }
}
