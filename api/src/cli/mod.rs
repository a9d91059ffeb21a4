//! The `scepter` command line: one [`Cli`] parsed once in `main`, with every
//! setting also readable from the environment. One module per command, and
//! `settings` for the argument groups several commands share.

pub mod import;
mod migrate;
mod serve;
pub mod settings;
mod token;

use clap::{parser::ValueSource, ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use self::{
    import::ImportArgs,
    migrate::{migrate, MigrateArgs},
    serve::{serve, ServeArgs},
    token::{issue_token, TokenIssueArgs},
};
use crate::http::openapi;

#[derive(Debug, Parser)]
#[command(
    name = "scepter",
    version,
    about = "Certificate-profile service for mobile-device management"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Secrets given as command-line flags (see [`Cli::parse_args`]).
    #[arg(skip)]
    pub secret_flags: Vec<SecretFlag>,
}

impl Cli {
    /// Parses the process's arguments, noting which secrets came as flags:
    /// those are visible to every user of the machine in the process list
    /// (environment variables and files are not), so each is warned about once.
    pub fn parse_args() -> Self {
        let matches = Self::command().get_matches();
        let mut cli = Self::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
        cli.secret_flags = SecretFlag::given_on_command_line(&matches);
        cli
    }
}

/// A secret-carrying argument and the `*_FILE` setting to use instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretFlag {
    id: &'static str,
    flag: &'static str,
    file_setting: &'static str,
}

impl SecretFlag {
    const ALL: [SecretFlag; 5] = [
        SecretFlag::new("jwt_secret", "--jwt-secret", "SCEPTER_JWT_SECRET_FILE"),
        SecretFlag::new(
            "jwt_secret_previous",
            "--jwt-secret-previous",
            "SCEPTER_JWT_SECRET_PREVIOUS_FILE",
        ),
        SecretFlag::new("challenge_key", "--challenge-key", "SCEPTER_CHALLENGE_KEY_FILE"),
        SecretFlag::new(
            "step_ca_challenge_secret",
            "--step-ca-challenge-secret",
            "SCEPTER_STEP_CA_CHALLENGE_SECRET_FILE",
        ),
        SecretFlag::new(
            "step_ca_notify_secret",
            "--step-ca-notify-secret",
            "SCEPTER_STEP_CA_NOTIFY_SECRET_FILE",
        ),
    ];

    const fn new(id: &'static str, flag: &'static str, file_setting: &'static str) -> Self {
        Self {
            id,
            flag,
            file_setting,
        }
    }

    /// The secret arguments of the invoked (sub)command given as flags, not
    /// through their environment variable (clap records where each value came from).
    fn given_on_command_line(matches: &ArgMatches) -> Vec<SecretFlag> {
        let mut leaf = matches;
        while let Some((_, subcommand)) = leaf.subcommand() {
            leaf = subcommand;
        }
        // Only ids this command has may be asked about (clap panics otherwise).
        let present: Vec<&str> = leaf.ids().map(|id| id.as_str()).collect();
        Self::ALL
            .into_iter()
            .filter(|secret| {
                present.contains(&secret.id) && leaf.value_source(secret.id) == Some(ValueSource::CommandLine)
            })
            .collect()
    }

    pub fn warning(&self) -> String {
        format!(
            "{} puts a secret on the command line, where every user of this machine can read it in the \
             process list; write it to a file only Scepter's user can read (chmod 600) and set {} instead",
            self.flag, self.file_setting
        )
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations and serve the API.
    Serve(Box<ServeArgs>),
    /// Apply the database migrations and exit.
    Migrate(MigrateArgs),
    /// Bearer tokens for the API.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Print the OpenAPI document (the committed openapi/openapi.json).
    Openapi,
    /// Bulk-import users, devices or group members from CSV or JSON lines (upsert by externalId).
    Import(ImportArgs),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a token and print it on stdout.
    Issue(TokenIssueArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli {
        command,
        secret_flags,
    } = cli;
    // `serve` logs them; other commands may print results on stdout, so stderr.
    if !matches!(command, Command::Serve(_)) {
        for flag in &secret_flags {
            eprintln!("warning: {}", flag.warning());
        }
    }
    match command {
        Command::Serve(args) => serve(*args, &secret_flags).await,
        Command::Migrate(args) => migrate(args).await,
        Command::Token {
            command: TokenCommand::Issue(args),
        } => issue_token(args),
        Command::Openapi => {
            print!("{}", openapi::to_json());
            Ok(())
        }
        Command::Import(args) => import::run(args).await,
    }
}
