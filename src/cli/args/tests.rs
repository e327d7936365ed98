use super::*;
use clap::CommandFactory;

fn argv(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn parse(a: &[&str]) -> Cli {
    Cli::try_parse_from(normalise_args(argv(a))).unwrap()
}

#[test]
fn the_command_tree_is_consistent() {
    // Duplicate flags, bad defaults and conflicting short options panic here.
    Cli::command().debug_assert();
}

#[test]
fn dash_to_becomes_the_long_option() {
    assert_eq!(
        normalise_args(argv(&["kloset", "restore", "latest", "-to", "/r"])),
        argv(&["kloset", "restore", "latest", "--to", "/r"])
    );
    assert_eq!(
        normalise_args(argv(&["restore", "-to=/r"])),
        argv(&["restore", "--to=/r"])
    );
    assert_eq!(normalise_args(argv(&["-to="])), argv(&["--to="]));
}

#[test]
fn other_arguments_pass_unchanged() {
    let a = argv(&[
        "--to", "/x", "--to=/y", "-tox", "-t", "to", "x-to", "-o", "k=v",
    ]);
    assert_eq!(normalise_args(a.clone()), a);
    assert!(normalise_args(Vec::new()).is_empty());
}

#[test]
fn nothing_after_a_double_dash_is_rewritten() {
    assert_eq!(
        normalise_args(argv(&["backup", "--", "-to", "-to=x"])),
        argv(&["backup", "--", "-to", "-to=x"])
    );
    assert_eq!(
        normalise_args(argv(&["-to", "a", "--", "-to"])),
        argv(&["--to", "a", "--", "-to"])
    );
}

#[test]
fn restore_takes_dash_to_after_normalising() {
    for form in [
        &["kloset", "restore", "latest", "-to", "/r"][..],
        &["kloset", "restore", "-to=/r", "latest"],
        &["kloset", "at", "/s", "restore", "latest", "--to", "/r"],
    ] {
        let cli = parse(form);
        let (Command::Repo(StoreCommand::Restore(r))
        | Command::At {
            command: StoreCommand::Restore(r),
            ..
        }) = cli.command
        else {
            panic!("{form:?}")
        };
        assert_eq!((r.to.as_str(), r.snapshot.as_str()), ("/r", "latest"));
    }
}

#[test]
fn global_flags_work_after_the_subcommand() {
    let cli = parse(&[
        "kloset",
        "at",
        "/s",
        "ls",
        "--json",
        "-q",
        "-o",
        "use_tls=false",
    ]);
    assert!(cli.json && cli.quiet);
    assert_eq!(cli.options, ["use_tls=false"]);
}

#[test]
fn forget_defaults_to_grouping_by_host_and_source() {
    let Command::Repo(StoreCommand::Forget(f)) =
        parse(&["kloset", "forget", "--keep-daily", "7", "--keep-tag", "a,b"]).command
    else {
        panic!()
    };
    assert_eq!(f.group_by, "host,source");
    assert_eq!(f.keep_daily, Some(7));
    assert_eq!(f.keep_tag, ["a,b"]);
    assert!(!f.dry_run);
    assert!(Cli::try_parse_from(["kloset", "forget", "--keep-last", "-1"]).is_err());
}

#[test]
fn unknown_subcommands_are_refused() {
    assert!(Cli::try_parse_from(["kloset", "frobnicate"]).is_err());
    assert!(Cli::try_parse_from(["kloset"]).is_err());
}
