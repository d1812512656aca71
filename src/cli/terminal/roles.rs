//! `lanyard roles`: the roles the signed-in person may take through the command line's
//! client (`GET /v1/roles` with a stored token), as a table with the token's role marked
//! `*`, as JSON (`--json`), or — when stdin and stdout are terminals and neither
//! `--filter` nor `--json` is given — as a fuzzy picker. The role chosen is printed; when
//! no credentials are stored for it, the picker offers to sign in for it at once (the
//! device flow of `lanyard login --role R`).
//!
//! May import: nothing of ours beyond its siblings.

use std::io::IsTerminal;

use super::remote::{OfferedRole, Remote, RemoteError, RolesAnswer};
use super::store::Entry;
use super::{CliError, human, print};

/// Lists the roles, with `entry`'s token.
pub async fn run(entry: &Entry, filter: Option<&str>, json: bool) -> Result<(), CliError> {
    let remote = Remote::discover(&entry.url).await?;
    let mut answer = remote
        .roles(&entry.access_token)
        .await
        .map_err(|e| match e {
            RemoteError::Unauthorized(why) => CliError::LoginNeeded {
                reason: format!("Lanyard refused the stored token ({why})"),
                command: format!("lanyard login --role {}", entry.role),
            },
            other => other.into(),
        })?;
    if let Some(f) = filter {
        answer.roles.retain(|r| matches(r, f));
    }
    if json {
        let text = serde_json::to_string_pretty(&answer)
            .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
        return print(&format!("{text}\n"));
    }
    let interactive =
        filter.is_none() && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if interactive && !answer.roles.is_empty() {
        return pick_and_sign_in(&answer, entry).await;
    }
    print(&table(&answer))
}

/// Whether `role` matches a `--filter` (name, description or group, any case).
fn matches(role: &OfferedRole, filter: &str) -> bool {
    let f = filter.to_lowercase();
    role.name.to_lowercase().contains(&f)
        || role.description.to_lowercase().contains(&f)
        || role
            .group
            .as_deref()
            .is_some_and(|g| g.to_lowercase().contains(&f))
}

/// The roles as an aligned table; the token's role marked `*`.
fn table(answer: &RolesAnswer) -> String {
    if answer.roles.is_empty() {
        return "No roles.\n".to_owned();
    }
    let rows: Vec<[String; 4]> = answer
        .roles
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.group.clone().unwrap_or_default(),
                human(r.max_duration_seconds),
                r.description.clone(),
            ]
        })
        .collect();
    let header = ["ROLE", "GROUP", "MAX", "DESCRIPTION"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain(std::iter::once(header[i].len()))
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    let line = |mark: &str, cells: [&str; 4]| {
        format!(
            "{mark} {:w0$}  {:w1$}  {:w2$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        )
        .trim_end()
        .to_owned()
            + "\n"
    };
    let mut out = line(" ", header);
    for (role, row) in answer.roles.iter().zip(&rows) {
        let mark = if role.name == answer.current {
            "*"
        } else {
            " "
        };
        out.push_str(&line(mark, [&row[0], &row[1], &row[2], &row[3]]));
    }
    out
}

/// The fuzzy picker (drawn on stderr); prints the name chosen, and offers to sign in for
/// it when no credentials are stored for it.
async fn pick_and_sign_in(answer: &RolesAnswer, entry: &Entry) -> Result<(), CliError> {
    let Some(role) = pick(answer)? else {
        return Ok(());
    };
    print(&format!("{role}\n"))?;
    let path = super::store::default_path()?;
    let stored = super::store::Store::open(&path)?
        .tokens
        .get(&entry.url, &role)
        .is_some();
    if stored {
        return Ok(());
    }
    let sign_in = dialoguer::Confirm::new()
        .with_prompt(format!(
            "No credentials are stored for {role}. Sign in for it now?"
        ))
        .default(true)
        .interact_opt()
        .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
    if sign_in != Some(true) {
        eprintln!("To sign in for it later: lanyard login --role {role}");
        return Ok(());
    }
    let options = super::login::Options {
        url: Some(entry.url.clone()),
        client_id: entry.client_id.clone(),
        role: Some(role),
        duration: None,
        browser: false,
        open: true,
    };
    super::login::run(&path, options).await.map(|_| ())
}

/// The fuzzy picker, the token's role first chosen; the name chosen, `None` on Escape.
fn pick(answer: &RolesAnswer) -> Result<Option<String>, CliError> {
    let items: Vec<String> = answer
        .roles
        .iter()
        .map(|r| {
            let mark = if r.name == answer.current { "*" } else { " " };
            format!(
                "{mark} {} — {} (up to {})",
                r.name,
                r.description,
                human(r.max_duration_seconds)
            )
        })
        .collect();
    let current = answer
        .roles
        .iter()
        .position(|r| r.name == answer.current)
        .unwrap_or(0);
    let chosen = dialoguer::FuzzySelect::new()
        .with_prompt("Role (type to filter, Esc to leave)")
        .items(&items)
        .default(current)
        .interact_opt()
        .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
    Ok(chosen
        .and_then(|i| answer.roles.get(i))
        .map(|r| r.name.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> RolesAnswer {
        let role = |name: &str, group: Option<&str>, secs, description: &str| OfferedRole {
            name: name.into(),
            description: description.into(),
            group: group.map(Into::into),
            max_duration_seconds: secs,
        };
        RolesAnswer {
            roles: vec![
                role(
                    "engineer",
                    Some("Engineering"),
                    14_400,
                    "Deploy and operate services",
                ),
                role("auditor", None, 43_200, "Read-only access"),
            ],
            current: "engineer".into(),
        }
    }

    #[test]
    fn the_table_marks_the_current_role() {
        assert_eq!(
            table(&answer()),
            "  ROLE      GROUP        MAX  DESCRIPTION\n\
             * engineer  Engineering  4h   Deploy and operate services\n\
             \x20 auditor                12h  Read-only access\n"
        );
    }

    #[test]
    fn filters_match_name_description_and_group() {
        let a = answer();
        let names = |f: &str| -> Vec<String> {
            a.roles
                .iter()
                .filter(|r| matches(r, f))
                .map(|r| r.name.clone())
                .collect()
        };
        assert_eq!(names("ENGIN"), ["engineer"]);
        assert_eq!(names("read-only"), ["auditor"]);
        assert_eq!(names("e"), ["engineer", "auditor"]);
        assert!(names("nothing").is_empty());
    }
}
