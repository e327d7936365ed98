//! Where a store's passphrase comes from, in order: `--keyfile`, the store's `passphrase`
//! option, its `passphrase_cmd`, `KLOSET_PASSPHRASE`, then a prompt on the terminal. The
//! second store of `sync` and `create --like` reads `--other-keyfile` and
//! `KLOSET_OTHER_PASSPHRASE` instead.

use std::process::Command;

use anyhow::{anyhow, Result};
use zeroize::Zeroizing;

use crate::error::{config, KlosetError};

/// A passphrase, wiped from memory when dropped.
pub type Passphrase = Zeroizing<String>;

#[derive(Clone, Default)]
pub struct PassphraseSource {
    pub keyfile: Option<std::path::PathBuf>,
    pub passphrase: Option<String>,
    pub passphrase_cmd: Option<String>,
    /// The second store of a command that opens two.
    pub other: bool,
}

/// The passphrase never shows in Debug output.
impl std::fmt::Debug for PassphraseSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassphraseSource")
            .field("keyfile", &self.keyfile)
            .field("passphrase", &self.passphrase.as_ref().map(|_| "********"))
            .field("passphrase_cmd", &self.passphrase_cmd)
            .field("other", &self.other)
            .finish()
    }
}

impl PassphraseSource {
    /// `confirm` asks twice when prompting (for `create`).
    pub fn get(&self, confirm: bool) -> Result<Passphrase> {
        if let Some(path) = &self.keyfile {
            return non_empty(first_line_of(path)?, "the keyfile");
        }
        if let Some(p) = &self.passphrase {
            return non_empty(Zeroizing::new(p.clone()), "the store's passphrase option");
        }
        if let Some(cmd) = &self.passphrase_cmd {
            // Its stderr goes to ours: a password manager's own message says what went wrong.
            let out = Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .stderr(std::process::Stdio::inherit())
                .output()
                .map_err(|e| config(format!("cannot run passphrase_cmd: {e}")))?;
            if !out.status.success() {
                return Err(config(format!(
                    "passphrase_cmd exited with {}: fix the command or set KLOSET_PASSPHRASE",
                    out.status
                )));
            }
            let stdout = Zeroizing::new(out.stdout);
            return non_empty(
                first_line(&String::from_utf8_lossy(&stdout)),
                "passphrase_cmd",
            );
        }
        let var = match self.other {
            true => "KLOSET_OTHER_PASSPHRASE",
            false => "KLOSET_PASSPHRASE",
        };
        if let Ok(p) = std::env::var(var) {
            return non_empty(Zeroizing::new(p), var);
        }
        if self.other {
            return prompt_as("passphrase of the other store: ", false);
        }
        prompt(confirm)
    }
}

/// A passphrase for a new key (`key add`, `key passwd`): `--new-keyfile`, else
/// `KLOSET_NEW_PASSPHRASE`, else asked twice on the terminal.
pub fn new_passphrase(keyfile: Option<&std::path::Path>) -> Result<Passphrase> {
    if let Some(path) = keyfile {
        return non_empty(first_line_of(path)?, "the new keyfile");
    }
    if let Ok(p) = std::env::var("KLOSET_NEW_PASSPHRASE") {
        return non_empty(Zeroizing::new(p), "KLOSET_NEW_PASSPHRASE");
    }
    prompt(true)
}

fn first_line_of(path: &std::path::Path) -> Result<Passphrase> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| config(format!("cannot read keyfile {}: {e}", path.display())))?,
    );
    Ok(first_line(&text))
}

fn first_line(text: &str) -> Passphrase {
    Zeroizing::new(text.lines().next().unwrap_or("").to_string())
}

fn non_empty(p: Passphrase, from: &str) -> Result<Passphrase> {
    if p.is_empty() {
        Err(config(format!("the passphrase from {from} is empty")))
    } else {
        Ok(p)
    }
}

fn prompt(confirm: bool) -> Result<Passphrase> {
    prompt_as("passphrase: ", confirm)
}

fn prompt_as(label: &str, confirm: bool) -> Result<Passphrase> {
    // rpassword reads from /dev/tty; without one this fails at once instead of hanging.
    let first =
        Zeroizing::new(rpassword::prompt_password(label).map_err(|_| KlosetError::NoPassphrase)?);
    if first.is_empty() {
        return Err(config("empty passphrase: a store needs a passphrase"));
    }
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("passphrase (again): ")
                .map_err(|_| KlosetError::NoPassphrase)?,
        );
        if again != first {
            return Err(anyhow!(KlosetError::Usage(
                "the passphrases do not match: try again".into()
            )));
        }
    }
    Ok(first)
}
