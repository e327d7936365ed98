//! `kloset source|store|destination ...`: the connector registry from the command line.

use std::collections::BTreeMap;

use anyhow::Result;

use super::Ctx;
use crate::cli::args::RegistryCommand;
use crate::connectors::options::{self, Role};
use crate::error::config;
use crate::registry::{self, Options, Registry};

mod import;

pub fn run(ctx: &Ctx, role: Role, cmd: RegistryCommand) -> Result<()> {
    let noun = role.noun();
    match cmd {
        RegistryCommand::Add { name, args } => {
            registry::valid_name(&name)?;
            let opts = parse_pairs(&args, true)?;
            options::validate(role, &opts)?;
            Registry::edit(|reg| {
                if reg.entries(role).contains_key(&name) {
                    return Err(config(format!(
                        "{noun} '{name}' already exists: use 'kloset {noun} set {name} key=value' or 'kloset {noun} rm {name}' first"
                    )));
                }
                reg.entries_mut(role).insert(name.clone(), opts);
                Ok(())
            })?;
            println!("{noun} '{name}' added");
        }
        RegistryCommand::Show {
            names,
            secrets,
            yaml,
        } => {
            let reg = Registry::load()?;
            let shown: BTreeMap<String, Options> = select(&reg, role, &names)?
                .into_iter()
                .map(|(n, o)| (n, if secrets { o } else { options::masked(&o) }))
                .collect();
            if ctx.json {
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else if yaml {
                print!("{}", serde_yaml::to_string(&shown)?);
            } else {
                for (name, opts) in shown {
                    println!("{name}:");
                    for (k, v) in opts {
                        println!("  {k}: {v}");
                    }
                }
            }
        }
        RegistryCommand::Ls => {
            let reg = Registry::load()?;
            for name in reg.entries(role).keys() {
                let mark = if role == Role::Store && reg.default_store.as_deref() == Some(name) {
                    " (default)"
                } else {
                    ""
                };
                println!("{name}{mark}");
            }
        }
        RegistryCommand::Set { name, args } => {
            let changes = parse_pairs(&args, false)?;
            Registry::edit(|reg| {
                let entry = existing(reg, role, &name)?;
                let mut updated = entry.clone();
                updated.extend(changes);
                options::validate(role, &updated)?;
                *entry = updated;
                Ok(())
            })?;
            println!("{noun} '{name}' updated");
        }
        RegistryCommand::Unset { name, keys } => {
            if keys.iter().any(|k| k == "location") {
                return Err(config(
                    "'location' cannot be unset: use 'set NAME location=...' or 'rm NAME'",
                ));
            }
            Registry::edit(|reg| {
                let entry = existing(reg, role, &name)?;
                let mut updated = entry.clone();
                for k in &keys {
                    if updated.remove(k).is_none() {
                        return Err(config(format!("{noun} '{name}' has no option '{k}'")));
                    }
                }
                options::validate(role, &updated)?;
                *entry = updated;
                Ok(())
            })?;
            println!("{noun} '{name}' updated");
        }
        RegistryCommand::Rm { name } => {
            Registry::edit(|reg| {
                existing(reg, role, &name)?;
                reg.entries_mut(role).remove(&name);
                if role == Role::Store && reg.default_store.as_deref() == Some(name.as_str()) {
                    reg.default_store = None;
                }
                Ok(())
            })?;
            println!("{noun} '{name}' removed");
        }
        RegistryCommand::Default { name } => {
            if role != Role::Store {
                return Err(config(
                    "only stores have a default: 'kloset store default NAME'",
                ));
            }
            Registry::edit(|reg| {
                existing(reg, role, &name)?;
                reg.default_store = Some(name.clone());
                Ok(())
            })?;
            println!("default store is now '{name}'");
        }
        RegistryCommand::Import {
            file,
            force,
            allow_commands,
        } => {
            let n = import::run(role, &file, force, allow_commands)?;
            println!("imported {n} {noun}(s) from {}", file.display());
        }
    }
    Ok(())
}

/// `key=value` pairs; with `allow_location`, a first bare argument is the location.
pub fn parse_pairs(args: &[String], allow_location: bool) -> Result<Options> {
    let mut out = Options::new();
    for (i, arg) in args.iter().enumerate() {
        match arg.split_once('=') {
            Some(("", _)) => {
                return Err(config(format!("expected key=value, got '{arg}' (no key)")))
            }
            Some((k, v)) if !k.contains("://") => {
                if out.insert(k.to_string(), v.to_string()).is_some() {
                    return Err(config(format!("option '{k}' is given twice")));
                }
            }
            _ if allow_location && i == 0 => {
                out.insert("location".into(), arg.clone());
            }
            _ => {
                return Err(config(format!(
                    "expected key=value: argument {} has no '='",
                    i + 1
                )))
            }
        }
    }
    Ok(out)
}

fn existing<'r>(reg: &'r mut Registry, role: Role, name: &str) -> Result<&'r mut Options> {
    let noun = role.noun();
    reg.entries_mut(role).get_mut(name).ok_or_else(|| {
        config(format!(
            "unknown {noun} '{name}': run 'kloset {noun} ls' to see the names"
        ))
    })
}

fn select(reg: &Registry, role: Role, names: &[String]) -> Result<BTreeMap<String, Options>> {
    if names.is_empty() {
        return Ok(reg.entries(role).clone());
    }
    let mut out = BTreeMap::new();
    for n in names {
        let n = n.trim_start_matches('@');
        let opts = reg.entries(role).get(n).ok_or_else(|| {
            config(format!(
                "unknown {} '{n}': run 'kloset {} ls' to see the names",
                role.noun(),
                role.noun()
            ))
        })?;
        out.insert(n.to_string(), opts.clone());
    }
    Ok(out)
}
