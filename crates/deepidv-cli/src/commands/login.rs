//! `deepidv login`: stores an API key in a profile of the config file.

use std::io::{self, BufRead, IsTerminal};

use crate::{
    cli::LoginArgs,
    credentials::{self, DEFAULT_PROFILE, Profile},
    failure::{Failure, Outcome},
};

/// Reads the key from stdin (without echo on a terminal) and writes the profile.
pub fn run(profile: Option<&str>, args: LoginArgs) -> Outcome {
    let name = profile.unwrap_or(DEFAULT_PROFILE);
    let key = if io::stdin().is_terminal() {
        rpassword::prompt_password(format!("DeepIDV API key for profile {name}: "))
            .map_err(|e| Failure::failed(format!("cannot read the key: {e}")))?
    } else {
        let mut line = String::new();
        io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::failed(format!("cannot read the key from stdin: {e}")))?;
        line
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(Failure::usage("no key was given on stdin"));
    }
    // The SDK checks the key and URL as it would before a call; nothing is sent.
    let mut builder = deepidv::Client::builder().api_key(key.clone());
    if let Some(url) = &args.base_url {
        builder = builder.base_url(url.clone());
    }
    builder.build()?;
    let path = credentials::config_path()?;
    credentials::write_profile(
        &path,
        name,
        Profile {
            api_key: key,
            base_url: args.base_url,
        },
    )?;
    eprintln!("saved profile {name} in {}", path.display());
    Ok(())
}
