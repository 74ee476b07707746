//! README's flag table against the flags the binary really has: every flag is in the table with
//! its environment variable and default, and the table names no flag that does not exist.

use clap::{Arg, Args as _, Command};
use tickcast_server::args::ServerArgs;

const README: &str = include_str!("../../README.md");

/// The rows of README's flag table as `[flags, env, default, meaning]` cells.
fn table_rows() -> Vec<Vec<&'static str>> {
    let table = README
        .split_once("| flag | env | default | meaning |")
        .expect("README has the flag table")
        .1;
    table
        .lines()
        .skip(2) // the rest of the header line and the |---| line
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect()
}

fn flags() -> Vec<Arg> {
    ServerArgs::augment_args(Command::new("tickcast-server"))
        .get_arguments()
        .cloned()
        .collect()
}

/// What the table writes for a default: the value in backticks, `off` for a switch.
fn documented_default(value: &str) -> String {
    match value {
        "false" => "off".into(),
        v => format!("`{v}`"),
    }
}

#[test]
fn every_flag_is_in_the_readme_table_with_its_env_and_default() {
    let rows = table_rows();
    for arg in flags() {
        let long = arg.get_long().expect("every server flag is a long flag");
        let row = rows
            .iter()
            .find(|r| r[0].contains(&format!("`--{long}`")))
            .unwrap_or_else(|| panic!("--{long} is not in README's flag table"));
        let env = arg.get_env().expect("every server flag has an env var");
        assert!(
            row[1].contains(&format!("`{}`", env.to_string_lossy())),
            "--{long}: README's env cell {:?} does not name {env:?}",
            row[1]
        );
        for default in arg.get_default_values() {
            let want = documented_default(&default.to_string_lossy());
            assert!(
                row[2].contains(&want),
                "--{long}: README's default cell {:?} does not say {want}",
                row[2]
            );
        }
    }
}

#[test]
fn the_readme_table_names_only_real_flags() {
    let longs: Vec<String> = flags()
        .iter()
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    for row in table_rows() {
        for named in row[0].split(", ") {
            let named = named.trim_matches('`');
            assert!(longs.iter().any(|l| l == named), "README lists {named}");
        }
    }
}
