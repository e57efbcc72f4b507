//! `haven facilitator ...`: facilitator accounts, for scripts and for the
//! clinic's administrator. They change the database directly; a running
//! server sees a password change or a disable at the next request of the
//! account's logins, which then end (their WebSockets close within seconds).

use std::io::BufRead;
use std::path::PathBuf;

use clap::Subcommand;
use haven_signaling::auth::{hash_password, MIN_PASSWORD_CHARS};
use haven_signaling::store::{Store, StoreError};

#[derive(Subcommand)]
pub enum FacilitatorCommand {
    /// Add a facilitator account.
    Add {
        /// The login name.
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Directory of the database (default ./haven-data).
        #[arg(long, env = "HAVEN_DATA_DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Set a new password; the account's logins end.
    Passwd {
        /// The login name.
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Directory of the database (default ./haven-data).
        #[arg(long, env = "HAVEN_DATA_DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Disable an account: it cannot log in, and its logins end.
    Disable {
        /// The login name.
        username: String,
        /// Directory of the database (default ./haven-data).
        #[arg(long, env = "HAVEN_DATA_DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Enable a disabled account again.
    Enable {
        /// The login name.
        username: String,
        /// Directory of the database (default ./haven-data).
        #[arg(long, env = "HAVEN_DATA_DIR")]
        data_dir: Option<PathBuf>,
    },
}

/// Carry out a `haven facilitator` command.
pub fn run(command: FacilitatorCommand) -> Result<(), String> {
    let open = |dir: Option<PathBuf>| {
        Store::open(&dir.unwrap_or_else(|| PathBuf::from("haven-data"))).map_err(|e| e.to_string())
    };
    let missing = |username: &str| format!("there is no facilitator named {username:?}");
    match command {
        FacilitatorCommand::Add {
            username,
            password_stdin,
            data_dir,
        } => {
            check_username(&username)?;
            let hash = read_password(password_stdin, "add")?;
            match open(data_dir)?.add_facilitator(&username, &hash) {
                Ok(_) => println!("Facilitator {username:?} added."),
                Err(StoreError::UsernameTaken) => {
                    return Err(format!("a facilitator named {username:?} already exists"))
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        FacilitatorCommand::Passwd {
            username,
            password_stdin,
            data_dir,
        } => {
            let hash = read_password(password_stdin, "passwd")?;
            if !open(data_dir)?
                .set_password(&username, &hash)
                .map_err(|e| e.to_string())?
            {
                return Err(missing(&username));
            }
            println!("Password of {username:?} changed; its logins have ended.");
        }
        FacilitatorCommand::Disable { username, data_dir } => {
            if !open(data_dir)?
                .set_disabled(&username, true)
                .map_err(|e| e.to_string())?
            {
                return Err(missing(&username));
            }
            println!("Facilitator {username:?} disabled; its logins have ended.");
        }
        FacilitatorCommand::Enable { username, data_dir } => {
            if !open(data_dir)?
                .set_disabled(&username, false)
                .map_err(|e| e.to_string())?
            {
                return Err(missing(&username));
            }
            println!("Facilitator {username:?} enabled.");
        }
    }
    Ok(())
}

fn check_username(username: &str) -> Result<(), String> {
    if haven_signaling::auth::valid_username(username) {
        Ok(())
    } else {
        Err("a username is 1 to 64 letters, digits or . _ - @".into())
    }
}

/// The hash of a password read from the first line of standard input.
fn read_password(password_stdin: bool, verb: &str) -> Result<String, String> {
    if !password_stdin {
        return Err(format!(
            "give the password on standard input with --password-stdin, e.g.\n  \
             printf '%s\\n' \"$PASSWORD\" | haven facilitator {verb} NAME --password-stdin"
        ));
    }
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    let password = password.trim_end_matches(['\r', '\n']);
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must be at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    hash_password(password).map_err(|e| format!("cannot hash the password: {e}"))
}
