//! Where the API key and the webhook secret come from: the environment, a profile of the config
//! file, or a secret file. Never the command line, and never printed.

use std::{
    collections::BTreeMap,
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::failure::{Failure, Outcome};

/// The profile used when `--profile` is not given and `DEEPIDV_API_KEY` is not set.
pub const DEFAULT_PROFILE: &str = "default";

/// The environment variable holding the webhook signing secret.
pub const WEBHOOK_SECRET_ENV: &str = "DEEPIDV_WEBHOOK_SECRET";

/// The config file: `[profiles.NAME]` tables.
#[derive(Debug, Default, Deserialize, Serialize)]
struct ConfigFile {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// One profile: a key and, optionally, where the API is.
#[derive(Clone, Deserialize, Serialize)]
pub struct Profile {
    /// The API key.
    pub api_key: String,
    /// The API's base URL; DeepIDV's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("api_key", &"[redacted]")
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// `$XDG_CONFIG_HOME/deepidv/config.toml`, or `$HOME/.config/deepidv/config.toml`.
pub fn config_path() -> Outcome<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".config"),
            None => {
                return Err(Failure::usage(
                    "neither XDG_CONFIG_HOME nor HOME is set: cannot find the config file",
                ));
            }
        },
    };
    Ok(base.join("deepidv").join("config.toml"))
}

/// A client for the command: `--profile NAME`, else the environment (`DEEPIDV_API_KEY`,
/// `DEEPIDV_BASE_URL`, through the SDK's own `Client::from_env`), else the `default` profile.
pub fn client(profile: Option<&str>) -> Outcome<deepidv::Client> {
    if let Some(name) = profile {
        return client_from_profile(&read_profile(&config_path()?, name)?);
    }
    if std::env::var_os(deepidv::API_KEY_ENV).is_some() {
        return Ok(deepidv::Client::from_env()?);
    }
    let path = config_path()?;
    if path.exists() {
        return client_from_profile(&read_profile(&path, DEFAULT_PROFILE)?);
    }
    Err(Failure::usage(format!(
        "no API key: set {} or run `deepidv login` (then --profile NAME)",
        deepidv::API_KEY_ENV
    )))
}

fn client_from_profile(profile: &Profile) -> Outcome<deepidv::Client> {
    let mut builder = deepidv::Client::builder().api_key(profile.api_key.clone());
    if let Some(url) = &profile.base_url {
        builder = builder.base_url(url.clone());
    }
    Ok(builder.build()?)
}

/// The profile `name` of the config file at `path`, which only its owner may read.
pub fn read_profile(path: &Path, name: &str) -> Outcome<Profile> {
    let config = read_config(path)?.ok_or_else(|| {
        Failure::usage(format!(
            "{} does not exist: run `deepidv login --profile {name}`",
            path.display()
        ))
    })?;
    config.profiles.get(name).cloned().ok_or_else(|| {
        Failure::usage(format!(
            "{} has no profile {name:?}: run `deepidv login --profile {name}`",
            path.display()
        ))
    })
}

fn read_config(path: &Path) -> Outcome<Option<ConfigFile>> {
    let metadata = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Failure::failed(format!("{}: {e}", path.display()))),
    };
    check_private(path, &metadata)?;
    let text = fs::read_to_string(path)
        .map_err(|e| Failure::failed(format!("{}: {e}", path.display())))?;
    // The parser's message can quote the line, which may hold the key: say only where.
    toml::from_str(&text).map(Some).map_err(|e| {
        let at = e
            .span()
            .map(|span| format!(" (at byte {})", span.start))
            .unwrap_or_default();
        Failure::usage(format!("{} is not valid TOML{at}", path.display()))
    })
}

/// Refuses a config file others can read or write, as ssh refuses such keys.
#[cfg(unix)]
fn check_private(path: &Path, metadata: &fs::Metadata) -> Outcome {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(Failure::usage(format!(
            "{} is readable by others (mode {:o}): it holds API keys. Run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _metadata: &fs::Metadata) -> Outcome {
    Ok(())
}

/// Stores `profile` as `name` in the config file at `path` (created with mode 0600, its
/// directory 0700), keeping the other profiles.
pub fn write_profile(path: &Path, name: &str, profile: Profile) -> Outcome {
    let mut config = read_config(path)?.unwrap_or_default();
    config.profiles.insert(name.to_owned(), profile);
    let text = toml::to_string(&config)
        .map_err(|e| Failure::failed(format!("cannot write the config: {e}")))?;
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let temporary = path.with_extension("toml.tmp");
    let mut file = open_private(&temporary)
        .map_err(|e| Failure::failed(format!("{}: {e}", temporary.display())))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::failed(format!("{}: {e}", temporary.display())))?;
    fs::rename(&temporary, path).map_err(|e| Failure::failed(format!("{}: {e}", path.display())))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Outcome {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Failure::failed(format!("{}: {e}", dir.display())))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Outcome {
    fs::create_dir_all(dir).map_err(|e| Failure::failed(format!("{}: {e}", dir.display())))
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // A file left by an earlier run keeps its mode: set it.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<fs::File> {
    fs::File::create(path)
}

/// The webhook signing secret: from `--secret-file` (its first line), else
/// `DEEPIDV_WEBHOOK_SECRET`.
pub fn webhook_secret(secret_file: Option<&Path>) -> Outcome<String> {
    let secret = match secret_file {
        Some(path) => fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        None => std::env::var(WEBHOOK_SECRET_ENV)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    };
    if secret.is_empty() {
        return Err(Failure::usage(format!(
            "no webhook secret: set {WEBHOOK_SECRET_ENV} or pass --secret-file PATH"
        )));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_round_trips_and_stays_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deepidv").join("config.toml");
        let profile = Profile {
            api_key: "sk_test_1".into(),
            base_url: Some("http://127.0.0.1:1".into()),
        };
        write_profile(&path, "work", profile).unwrap();
        write_profile(
            &path,
            "other",
            Profile {
                api_key: "sk_test_2".into(),
                base_url: None,
            },
        )
        .unwrap();
        assert_eq!(read_profile(&path, "work").unwrap().api_key, "sk_test_1");
        assert_eq!(read_profile(&path, "other").unwrap().api_key, "sk_test_2");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let refused = read_profile(&path, "work").unwrap_err().to_string();
            assert!(refused.contains("readable by others"), "{refused}");
            assert!(!refused.contains("sk_test"), "{refused}");
        }
    }

    #[test]
    fn debug_hides_the_key() {
        let profile = Profile {
            api_key: "sk_secret".into(),
            base_url: None,
        };
        assert!(!format!("{profile:?}").contains("sk_secret"));
    }
}
