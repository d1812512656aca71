//! The role picker's arrangement: which roles a filter lets through, in which order and
//! under which headings, which one is chosen, and the session lengths each role offers.
//! Pure functions over the eligible roles and the person's preferences; `pages` renders
//! the result and handles the forms.
//!
//! The order: the role used last, then the person's favourites (in the order starred),
//! then the configured groups (alphabetically, each role in config order), then the roles
//! of no group. Each role is listed once.
//!
//! Headings and session lengths are said in the page's language (`web::i18n`).
//!
//! May import: `roles`, `access` (the issuer's duration bound), `identity`, `web::views`,
//! `web::i18n`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::access::CredentialIssuer;
use crate::identity::RoleName;
use crate::roles::{MIN_SESSION_SECS, Role};
use crate::web::i18n::{Locale, Msg};
use crate::web::views::{DurationChoice, RoleChoice, RoleGroup};

/// Session lengths offered, each role offering those up to its own maximum.
pub const DURATION_STEPS: &[u64] = &[900, 1800, 3600, 7200, 14_400, 28_800, 43_200];
/// The heading of the role used last.
pub const LAST_USED: Msg = Msg::new("picker-last-used");
/// The heading of the roles the person starred.
pub const FAVOURITES: Msg = Msg::new("picker-favourites");
/// The heading of roles of no group, when other headings are shown.
pub const OTHER_ROLES: Msg = Msg::new("picker-other-roles");
/// The heading of roles of no group, when they are all there is.
pub const ROLES: Msg = Msg::new("picker-roles");

/// What the person brings to the picker.
#[derive(Debug, Default, Clone, Copy)]
pub struct Preferences<'a> {
    /// The role chosen last time.
    pub last: Option<&'a str>,
    /// The roles starred, oldest first.
    pub favourites: &'a [RoleName],
    /// The role chosen on the page before a filter was applied.
    pub selected: Option<&'a str>,
}

/// The picker's list.
pub struct Arranged {
    /// The headings with their roles, in order.
    pub groups: Vec<RoleGroup>,
    /// The role chosen: `selected` if shown, else the last used if shown, else the first.
    pub selected: Option<String>,
    /// How many roles the filter lets through.
    pub count: usize,
}

/// Whether `role` matches the filter `needle` (lower case; empty matches all): its name,
/// its description or its group's name contains it, ignoring case.
pub fn matches(role: &Role, needle: &str) -> bool {
    needle.is_empty()
        || role.name.to_lowercase().contains(needle)
        || role.description.to_lowercase().contains(needle)
        || role
            .group
            .as_deref()
            .is_some_and(|g| g.to_lowercase().contains(needle))
}

/// The `eligible` roles that match `filter`, ordered and grouped for `prefs`, each with
/// the lengths it grants (`default`: the length preselected, capped by the role), the
/// headings and lengths said in `t`.
pub fn arrange(
    eligible: &[Arc<Role>],
    prefs: Preferences<'_>,
    filter: &str,
    (default, t): (u64, Locale),
) -> Arranged {
    let needle = filter.to_lowercase();
    let shown: Vec<&Arc<Role>> = eligible.iter().filter(|r| matches(r, &needle)).collect();
    let find = |name: &str| shown.iter().copied().find(|r| r.name == *name);
    let sections = sections(&shown, &prefs, t);
    let first = sections.first().and_then(|(_, roles)| roles.first());
    let selected = [prefs.selected, prefs.last]
        .into_iter()
        .flatten()
        .find_map(find)
        .or(first.copied())
        .map(|r| r.name.to_string());
    let mut n = 0;
    let groups = sections
        .into_iter()
        .map(|(name, roles)| RoleGroup {
            name,
            roles: roles
                .into_iter()
                .map(|r| {
                    n += 1;
                    RoleChoice {
                        id: format!("role-{n}"),
                        name: r.name.to_string(),
                        description: r.description.clone(),
                        group: r.group.clone().unwrap_or_default(),
                        selected: selected.as_deref() == Some(r.name.as_str()),
                        favourite: prefs.favourites.iter().any(|f| *f == r.name),
                        durations: duration_choices(CredentialIssuer::max_duration(r), default, t),
                        step_up: false,
                        approved_until: None,
                    }
                })
                .collect(),
        })
        .collect();
    Arranged {
        groups,
        selected,
        count: shown.len(),
    }
}

/// The `shown` roles under their headings, each once: the last used, the favourites (in
/// the order starred), the groups by name, then the ungrouped.
fn sections<'r>(
    shown: &[&'r Arc<Role>],
    prefs: &Preferences<'_>,
    t: Locale,
) -> Vec<(String, Vec<&'r Arc<Role>>)> {
    let heading = |m: &Msg| t.say(m);
    let find = |name: &str| shown.iter().copied().find(|r| r.name == *name);
    let mut sections: Vec<(String, Vec<&Arc<Role>>)> = Vec::new();
    let mut placed: Vec<&str> = Vec::new();
    if let Some(last) = prefs.last.and_then(find) {
        sections.push((heading(&LAST_USED), vec![last]));
        placed.push(last.name.as_str());
    }
    let mut favourites = Vec::new();
    for role in prefs.favourites.iter().filter_map(|f| find(f)) {
        if !placed.contains(&role.name.as_str()) {
            placed.push(role.name.as_str());
            favourites.push(role);
        }
    }
    if !favourites.is_empty() {
        sections.push((heading(&FAVOURITES), favourites));
    }
    let mut grouped: BTreeMap<(String, String), Vec<&Arc<Role>>> = BTreeMap::new();
    let mut ungrouped = Vec::new();
    for role in shown
        .iter()
        .copied()
        .filter(|r| !placed.contains(&r.name.as_str()))
    {
        match &role.group {
            Some(g) => grouped
                .entry((g.to_lowercase(), g.clone()))
                .or_default()
                .push(role),
            None => ungrouped.push(role),
        }
    }
    sections.extend(grouped.into_iter().map(|((_, name), roles)| (name, roles)));
    if !ungrouped.is_empty() {
        let heading_of_rest = if sections.is_empty() {
            ROLES
        } else {
            OTHER_ROLES
        };
        sections.push((heading(&heading_of_rest), ungrouped));
    }
    sections
}

/// The lengths a role granting at most `max` seconds offers: the steps up to `max`, `max`
/// itself, and the preferred one (`default`, capped by `max`), preselected; labelled in `t`.
pub fn duration_choices(max: u64, default: u64, t: Locale) -> Vec<DurationChoice> {
    let max = max.max(MIN_SESSION_SECS);
    let preferred = default.clamp(MIN_SESSION_SECS, max);
    let mut steps: Vec<u64> = DURATION_STEPS
        .iter()
        .copied()
        .filter(|s| *s <= max)
        .chain([max, preferred])
        .collect();
    steps.sort_unstable();
    steps.dedup();
    steps
        .into_iter()
        .map(|s| DurationChoice {
            seconds: s,
            label: t.duration(s),
            selected: s == preferred,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn role(name: &str, group: Option<&str>, description: &str, max_secs: u64) -> Arc<Role> {
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": "corp"}, "Action": "sts:AssumeRole"
        }]});
        let mut role = crate::roles::tests::role(name, trust);
        role.group = group.map(str::to_owned);
        role.description = description.to_owned();
        role.max_session_duration = Duration::from_secs(max_secs);
        Arc::new(role)
    }

    /// Ungrouped first in config order, to show that order comes from the arrangement.
    fn catalog() -> Vec<Arc<Role>> {
        vec![
            role("scratch", None, "A sandbox", 3600),
            role("deploy", Some("platform"), "Deploy services", 14_400),
            role("billing-ro", Some("Finance"), "Read invoices", 43_200),
            role("breakglass", Some("platform"), "Emergency access", 3600),
            role("search-admin", None, "Search cluster", 5400),
        ]
    }

    fn headings(a: &Arranged) -> Vec<(&str, Vec<&str>)> {
        a.groups
            .iter()
            .map(|g| {
                let roles = g.roles.iter().map(|r| r.name.as_str()).collect();
                (g.name.as_str(), roles)
            })
            .collect()
    }

    #[test]
    fn groups_alphabetically_then_the_roles_of_no_group() {
        let a = arrange(&catalog(), Preferences::default(), "", (3600, Locale::En));
        assert_eq!(
            headings(&a),
            [
                ("Finance", vec!["billing-ro"]),
                ("platform", vec!["deploy", "breakglass"]),
                ("Other roles", vec!["scratch", "search-admin"]),
            ]
        );
        assert_eq!(a.selected.as_deref(), Some("billing-ro"), "the first row");
        assert_eq!(a.count, 5);
        let ids: Vec<&str> = a
            .groups
            .iter()
            .flat_map(|g| g.roles.iter().map(|r| r.id.as_str()))
            .collect();
        assert_eq!(ids, ["role-1", "role-2", "role-3", "role-4", "role-5"]);
    }

    #[test]
    fn roles_of_no_group_alone_are_just_roles() {
        let roles = vec![role("a", None, "", 3600), role("b", None, "", 3600)];
        let a = arrange(&roles, Preferences::default(), "", (3600, Locale::En));
        assert_eq!(headings(&a), [("Roles", vec!["a", "b"])]);
    }

    #[test]
    fn the_last_used_comes_first_then_favourites_each_role_once() {
        let favourites = [
            RoleName::new("search-admin"),
            RoleName::new("deploy"),
            RoleName::new("gone"),
        ];
        let prefs = Preferences {
            last: Some("deploy"),
            favourites: &favourites,
            selected: None,
        };
        let a = arrange(&catalog(), prefs, "", (3600, Locale::En));
        assert_eq!(
            headings(&a),
            [
                ("Last used", vec!["deploy"]),
                ("Favourites", vec!["search-admin"]),
                ("Finance", vec!["billing-ro"]),
                ("platform", vec!["breakglass"]),
                ("Other roles", vec!["scratch"]),
            ]
        );
        assert_eq!(a.selected.as_deref(), Some("deploy"));
        let starred: Vec<&str> = a
            .groups
            .iter()
            .flat_map(|g| g.roles.iter().filter(|r| r.favourite))
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(starred, ["deploy", "search-admin"]);
    }

    #[test]
    fn the_filter_matches_names_descriptions_and_groups_ignoring_case() {
        let shown = |q: &str| {
            let a = arrange(&catalog(), Preferences::default(), q, (3600, Locale::En));
            let mut names: Vec<String> = a
                .groups
                .iter()
                .flat_map(|g| g.roles.iter().map(|r| r.name.clone()))
                .collect();
            names.sort();
            names
        };
        assert_eq!(
            shown("PLATFORM"),
            ["breakglass", "deploy"],
            "a group's roles"
        );
        assert_eq!(shown("invoices"), ["billing-ro"], "a description");
        assert_eq!(shown("Search-"), ["search-admin"], "a name");
        assert_eq!(shown("fin"), ["billing-ro"], "part of a group name");
        assert!(shown("nothing like it").is_empty());
    }

    #[test]
    fn the_choice_made_before_filtering_is_kept_while_shown() {
        let prefs = Preferences {
            last: Some("deploy"),
            favourites: &[],
            selected: Some("breakglass"),
        };
        let a = arrange(&catalog(), prefs, "platform", (3600, Locale::En));
        assert_eq!(a.selected.as_deref(), Some("breakglass"));
        let checked: Vec<&str> = a
            .groups
            .iter()
            .flat_map(|g| g.roles.iter().filter(|r| r.selected))
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(checked, ["breakglass"], "exactly one radio is checked");
        // Filtered away: the last used if shown, else the first row.
        let a = arrange(&catalog(), prefs, "finance", (3600, Locale::En));
        assert_eq!(a.selected.as_deref(), Some("billing-ro"));
        let a = arrange(&catalog(), prefs, "nothing like it", (3600, Locale::En));
        assert_eq!(a.selected, None);
        assert!(a.groups.is_empty());
    }

    #[test]
    fn each_role_offers_only_the_lengths_it_grants() {
        let offered = |max, default| -> Vec<(u64, bool)> {
            duration_choices(max, default, Locale::En)
                .iter()
                .map(|d| (d.seconds, d.selected))
                .collect()
        };
        assert_eq!(
            offered(3600, 3600),
            [(900, false), (1800, false), (3600, true)]
        );
        // 1 h 30 min is not a step: offered as the role's maximum; the default is capped.
        assert_eq!(
            offered(5400, 7200),
            [(900, false), (1800, false), (3600, false), (5400, true)]
        );
        // A default that is no step is offered too.
        assert_eq!(
            offered(14_400, 2700),
            [
                (900, false),
                (1800, false),
                (2700, true),
                (3600, false),
                (7200, false),
                (14_400, false)
            ]
        );
        assert_eq!(offered(43_200, 3600).len(), DURATION_STEPS.len());
        assert_eq!(offered(900, 3600), [(900, true)]);
        let labels: Vec<String> = duration_choices(5400, 900, Locale::En)
            .into_iter()
            .map(|d| d.label)
            .collect();
        assert_eq!(labels.last().map(String::as_str), Some("1 h 30 min"));
    }
}
