//! Secret options given by reference, so that no secret needs to be typed on a command line
//! (shell history, `ps`) or kept in the registry: `@FILE` reads its first line, `!COMMAND`
//! the first line of what the command prints, `?` asks on the terminal without echo.
//! Resolved when a command opens the connector, never when the registry is shown or edited.
//! `sse_customer_key` reads `@FILE` and `!COMMAND` itself (a file may hold 32 raw bytes);
//! here it only gets `?`.

use std::collections::BTreeMap;
use std::process::Stdio;

use anyhow::Result;

use super::options::SECRET_KEYS;
use crate::error::config;

/// How a secret option's value is to be had.
#[derive(Debug, PartialEq, Eq)]
pub enum Given<'a> {
    Literal(&'a str),
    File(&'a str),
    Command(&'a str),
    Prompt,
}

pub fn given(value: &str) -> Given<'_> {
    if value == "?" {
        Given::Prompt
    } else if let Some(path) = value.strip_prefix('@') {
        Given::File(path)
    } else if let Some(cmd) = value.strip_prefix('!') {
        Given::Command(cmd)
    } else {
        Given::Literal(value)
    }
}

/// Every command an option set would run: `passphrase_cmd` and secrets given as `!COMMAND`.
pub fn commands(opts: &BTreeMap<String, String>) -> Vec<(String, String)> {
    opts.iter()
        .filter_map(|(k, v)| match (k.as_str(), given(v)) {
            ("passphrase_cmd", _) => Some((k.clone(), v.clone())),
            (k2, Given::Command(cmd)) if SECRET_KEYS.contains(&k2) => {
                Some((k.clone(), cmd.to_string()))
            }
            _ => None,
        })
        .collect()
}

/// Every file an option set's secrets would be read from (`@FILE`): a shared registry file
/// could otherwise send a local secret to an endpoint of its choosing.
pub fn files(opts: &BTreeMap<String, String>) -> Vec<(String, String)> {
    opts.iter()
        .filter_map(|(k, v)| match given(v) {
            Given::File(path) if SECRET_KEYS.contains(&k.as_str()) || k == "sse_customer_key" => {
                Some((k.clone(), path.to_string()))
            }
            _ => None,
        })
        .collect()
}

/// The options with every secret given by reference replaced by its value. A passphrase of
/// `?` is dropped instead: the passphrase chain then asks (twice when creating a store),
/// after `KLOSET_PASSPHRASE`.
pub fn resolve(opts: &BTreeMap<String, String>, display: &str) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (key, value) in opts {
        if !SECRET_KEYS.contains(&key.as_str()) {
            out.insert(key.clone(), value.clone());
            continue;
        }
        let form = given(value);
        let resolved = match form {
            Given::Prompt if key == "passphrase" => continue,
            Given::File(_) | Given::Command(_) if key == "sse_customer_key" => value.clone(),
            Given::Literal(v) => v.to_string(),
            Given::File(path) => from_file(key, path, display)?,
            Given::Command(cmd) => from_command(key, cmd, display)?,
            Given::Prompt => prompt(key, display)?,
        };
        if resolved.is_empty() {
            return Err(config(format!("{display}: {key} is empty")));
        }
        out.insert(key.clone(), resolved);
    }
    Ok(out)
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").to_string()
}

fn from_file(key: &str, path: &str, display: &str) -> Result<String> {
    Ok(first_line(&String::from_utf8_lossy(&file_bytes(
        key, path, display,
    )?)))
}

fn from_command(key: &str, cmd: &str, display: &str) -> Result<String> {
    Ok(first_line(&String::from_utf8_lossy(&command_output(
        key, cmd, display,
    )?)))
}

/// The bytes of a secret given as `@FILE` or `!COMMAND` (None: given inline), for a secret
/// that may be raw bytes (`sse_customer_key`).
pub fn referenced_bytes(key: &str, value: &str, display: &str) -> Result<Option<Vec<u8>>> {
    match given(value) {
        Given::File(path) => file_bytes(key, path, display).map(Some),
        Given::Command(cmd) => command_output(key, cmd, display).map(Some),
        Given::Literal(_) | Given::Prompt => Ok(None),
    }
}

fn file_bytes(key: &str, path: &str, display: &str) -> Result<Vec<u8>> {
    let path = shellexpand_home(path);
    std::fs::read(&path).map_err(|e| {
        config(format!(
            "{display}: cannot read {key} from {}: {e}",
            path.display()
        ))
    })
}

/// `@~/keys/s3` as a shell would read it.
fn shellexpand_home(path: &str) -> std::path::PathBuf {
    match (path.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => path.into(),
    }
}

fn command_output(key: &str, cmd: &str, display: &str) -> Result<Vec<u8>> {
    // Its stderr goes to ours: a password manager's own message says what went wrong.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| config(format!("{display}: cannot run the command for {key}: {e}")))?;
    if !out.status.success() {
        return Err(config(format!(
            "{display}: the command for {key} exited with {}: fix it or give {key} another way",
            out.status
        )));
    }
    Ok(out.stdout)
}

fn prompt(key: &str, display: &str) -> Result<String> {
    // rpassword reads from /dev/tty; without one this fails at once instead of hanging.
    rpassword::prompt_password(format!("{key} for {display}: ")).map_err(|_| {
        config(format!(
            "{display}: {key}=? asks on a terminal and there is none: give {key}=@FILE or {key}=!COMMAND"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_forms_are_told_apart() {
        assert_eq!(given("?"), Given::Prompt);
        assert_eq!(given("@/k"), Given::File("/k"));
        assert_eq!(given("!pass s3"), Given::Command("pass s3"));
        assert_eq!(given("plain?"), Given::Literal("plain?"));
    }

    #[test]
    fn files_and_commands_give_their_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "from-file\nsecond line\n").unwrap();
        let given = opts(&[
            ("location", "@not-a-secret"),
            ("access_key", "AKIA"),
            ("secret_access_key", &format!("@{}", file.display())),
            ("session_token", "!printf 'tok\\nmore'"),
        ]);
        let got = resolve(&given, "s").unwrap();
        assert_eq!(
            got["location"], "@not-a-secret",
            "only secrets are resolved"
        );
        assert_eq!(got["access_key"], "AKIA");
        assert_eq!(got["secret_access_key"], "from-file");
        assert_eq!(got["session_token"], "tok");
    }

    #[test]
    fn failures_name_the_key_but_never_the_value() {
        let e = resolve(&opts(&[("passphrase", "!exit 3")]), "@main")
            .unwrap_err()
            .to_string();
        assert!(e.contains("passphrase") && e.contains("@main"), "{e}");
        let e = resolve(&opts(&[("passphrase", "@/nonexistent/p")]), "@main")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read passphrase"), "{e}");
        let e = resolve(&opts(&[("secret_access_key", "!true")]), "s")
            .unwrap_err()
            .to_string();
        assert!(e.contains("secret_access_key is empty"), "{e}");
    }

    #[test]
    fn a_prompted_passphrase_is_left_to_the_passphrase_chain() {
        let got = resolve(&opts(&[("passphrase", "?")]), "s").unwrap();
        assert!(!got.contains_key("passphrase"));
        let kept = resolve(&opts(&[("sse_customer_key", "@/k")]), "s").unwrap();
        assert_eq!(
            kept["sse_customer_key"], "@/k",
            "sse.rs reads the raw bytes"
        );
    }

    #[test]
    fn commands_lists_everything_that_would_run() {
        let o = opts(&[
            ("passphrase_cmd", "pass kloset"),
            ("secret_access_key", "!vault read s3"),
            ("access_key", "AKIA"),
            ("location", "!not-run"),
        ]);
        assert_eq!(
            commands(&o),
            [
                ("passphrase_cmd".to_string(), "pass kloset".to_string()),
                ("secret_access_key".to_string(), "vault read s3".to_string())
            ]
        );
    }

    #[test]
    fn files_lists_every_secret_read_from_a_file() {
        let o = opts(&[
            ("access_key", "@~/.git-credentials"),
            ("sse_customer_key", "@/k"),
            ("location", "@not-a-secret"),
        ]);
        assert_eq!(
            files(&o),
            [
                ("access_key".to_string(), "~/.git-credentials".to_string()),
                ("sse_customer_key".to_string(), "/k".to_string())
            ]
        );
    }
}
