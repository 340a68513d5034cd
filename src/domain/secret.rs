//! A secret value in memory: no `Clone`, `Debug`, `Display` or `Serialize`, wiped on drop, read
//! only through the loudly named [`Secret::expose_secret`] at the point where it is written to
//! its destination (stdout, a child's environment, a sealed field).

use zeroize::Zeroizing;

pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(text: String) -> Secret {
        Secret(Zeroizing::new(text))
    }

    /// The value itself. Every call site is a place where the secret leaves ohx's keeping.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl From<secrecy::SecretString> for Secret {
    fn from(value: secrecy::SecretString) -> Secret {
        use secrecy::ExposeSecret;
        Secret::new(value.expose_secret().to_string())
    }
}
