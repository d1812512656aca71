//! What the credentials page hands over for a shell: the role session's variables as lines
//! to paste into bash or zsh, fish, or PowerShell, each value quoted by that shell's rules,
//! and a call of `POST /v1/authorize` that proves the token works against this Lanyard.
//!
//! May import: nothing of ours.

/// A shell the credentials page writes lines for.
// "PowerShell" is the shell's own name, not a repetition of the enum's.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// bash, zsh and other POSIX shells: `export NAME='value'`.
    Posix,
    /// fish: `set -gx NAME 'value'`.
    Fish,
    /// PowerShell (Windows PowerShell 5.1 and PowerShell 7): `$Env:NAME = 'value'`.
    PowerShell,
}

/// The action and resource of the test call: a read-only question any role can ask. The
/// answer names the role and Lanyard's decision; a `401` means the token is not accepted.
const TEST_BODY: &str = r#"{"action":"sts:GetCallerIdentity","resource":"*"}"#;

impl Shell {
    /// Every shell, in the order the page shows them (the first is shown first).
    pub const ALL: [Shell; 3] = [Shell::Posix, Shell::Fish, Shell::PowerShell];

    /// A short id for element ids and the remembered choice (`bash`, `fish`, `powershell`).
    pub fn id(self) -> &'static str {
        match self {
            Shell::Posix => "bash",
            Shell::Fish => "fish",
            Shell::PowerShell => "powershell",
        }
    }

    /// The shell's name as the page shows it (names, not words to translate).
    pub fn label(self) -> &'static str {
        match self {
            Shell::Posix => "bash / zsh",
            Shell::Fish => "fish",
            Shell::PowerShell => "PowerShell",
        }
    }

    /// `value` as one single-quoted word of this shell, whatever it holds.
    pub fn quote(self, value: &str) -> String {
        match self {
            // Nothing is special inside '…'; a quote ends it: '\'' closes, adds one, reopens.
            Shell::Posix => format!("'{}'", value.replace('\'', r"'\''")),
            // Inside '…' fish knows two escapes: \' and \\.
            Shell::Fish => format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'")),
            // Inside '…' a quote is doubled; PowerShell takes the typographic single quotes
            // for quotes too.
            Shell::PowerShell => {
                let mut out = String::with_capacity(value.len() + 2);
                out.push('\'');
                for c in value.chars() {
                    if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}') {
                        out.push(c);
                    }
                    out.push(c);
                }
                out.push('\'');
                out
            }
        }
    }

    /// One line setting the environment variable `name` (a plain identifier) to `value`.
    pub fn export(self, name: &str, value: &str) -> String {
        let value = self.quote(value);
        match self {
            Shell::Posix => format!("export {name}={value}"),
            Shell::Fish => format!("set -gx {name} {value}"),
            Shell::PowerShell => format!("$Env:{name} = {value}"),
        }
    }

    /// The lines setting every `(name, value)`, one a line.
    pub fn exports(self, vars: &[(&str, &str)]) -> String {
        vars.iter()
            .map(|(name, value)| self.export(name, value))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A call of `POST {issuer}/v1/authorize` with the exported `LANYARD_TOKEN` as the
    /// bearer. curl in bash and fish; in PowerShell its own `Invoke-RestMethod`, since
    /// Windows PowerShell 5.1 strips the double quotes of a JSON argument passed to
    /// `curl.exe`.
    pub fn test_call(self, issuer: &str) -> String {
        let url = self.quote(&format!("{issuer}/v1/authorize"));
        let body = self.quote(TEST_BODY);
        match self {
            Shell::Posix | Shell::Fish => format!(
                "curl -sS -X POST {url} \\\n  -H \"Authorization: Bearer $LANYARD_TOKEN\" \\\n  \
                 -H 'Content-Type: application/json' \\\n  -d {body}"
            ),
            Shell::PowerShell => format!(
                "Invoke-RestMethod -Method Post -Uri {url} `\n  \
                 -Headers @{{ Authorization = \"Bearer $Env:LANYARD_TOKEN\" }} `\n  \
                 -ContentType 'application/json' `\n  -Body {body}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shell_quotes_by_its_own_rules() {
        let tricky = r"it's a \ test";
        assert_eq!(Shell::Posix.quote(tricky), r"'it'\''s a \ test'");
        assert_eq!(Shell::Fish.quote(tricky), r"'it\'s a \\ test'");
        assert_eq!(Shell::PowerShell.quote(tricky), r"'it''s a \ test'");
        assert_eq!(
            Shell::PowerShell.quote("a\u{2019}b"),
            "'a\u{2019}\u{2019}b'"
        );
        // Nothing else is special inside single quotes: $, ", ` and newlines stay as they are.
        for shell in Shell::ALL {
            assert_eq!(shell.quote("$HOME \"x\" `y`"), "'$HOME \"x\" `y`'");
        }
    }

    #[test]
    fn export_lines_per_shell() {
        let vars = [("LANYARD_TOKEN", "eyJ.a.b"), ("LANYARD_ROLE", "engineer")];
        assert_eq!(
            Shell::Posix.exports(&vars),
            "export LANYARD_TOKEN='eyJ.a.b'\nexport LANYARD_ROLE='engineer'"
        );
        assert_eq!(
            Shell::Fish.exports(&vars),
            "set -gx LANYARD_TOKEN 'eyJ.a.b'\nset -gx LANYARD_ROLE 'engineer'"
        );
        assert_eq!(
            Shell::PowerShell.exports(&vars),
            "$Env:LANYARD_TOKEN = 'eyJ.a.b'\n$Env:LANYARD_ROLE = 'engineer'"
        );
    }

    #[test]
    fn the_test_call_asks_this_lanyard_with_the_exported_token() {
        let bash = Shell::Posix.test_call("https://sso.example.com");
        assert!(bash.starts_with("curl -sS -X POST 'https://sso.example.com/v1/authorize'"));
        assert!(bash.contains("\"Authorization: Bearer $LANYARD_TOKEN\""));
        assert!(bash.ends_with(r#"-d '{"action":"sts:GetCallerIdentity","resource":"*"}'"#));
        assert_eq!(
            Shell::Fish.test_call("https://x"),
            Shell::Posix.test_call("https://x")
        );
        let ps = Shell::PowerShell.test_call("https://sso.example.com");
        assert!(ps.starts_with(
            "Invoke-RestMethod -Method Post -Uri 'https://sso.example.com/v1/authorize'"
        ));
        assert!(ps.contains("\"Bearer $Env:LANYARD_TOKEN\""));
    }
}
