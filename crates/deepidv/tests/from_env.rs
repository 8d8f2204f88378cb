//! `Client::from_env`. Its own test binary: it changes the process environment, which no other
//! test may observe.

use deepidv::{Client, Error};

#[test]
fn from_env_reads_the_key_and_the_optional_base_url() {
    // SAFETY: this binary runs this one test, so no other thread reads the environment meanwhile.
    unsafe {
        std::env::remove_var("DEEPIDV_API_KEY");
        std::env::remove_var("DEEPIDV_BASE_URL");
    }
    let e = Client::from_env().unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    assert!(e.message().contains("DEEPIDV_API_KEY"), "{e}");

    unsafe { std::env::set_var("DEEPIDV_API_KEY", "sk_test_from_env") };
    assert_eq!(
        Client::from_env().unwrap().base_url(),
        "https://api.deepidv.com"
    );

    unsafe { std::env::set_var("DEEPIDV_BASE_URL", "http://127.0.0.1:12111/") };
    let client = Client::from_env().unwrap();
    assert_eq!(client.base_url(), "http://127.0.0.1:12111");
    assert!(!format!("{client:?}").contains("sk_test_from_env"));

    // Set but blank (an empty line in a .env file, a template left unfilled): the default.
    for blank in ["", "   ", "\t"] {
        unsafe { std::env::set_var("DEEPIDV_BASE_URL", blank) };
        assert_eq!(
            Client::from_env().unwrap().base_url(),
            "https://api.deepidv.com",
            "{blank:?}"
        );
    }

    unsafe { std::env::set_var("DEEPIDV_BASE_URL", "http://deepidv.example") };
    assert!(matches!(Client::from_env(), Err(Error::Config { .. })));
}
