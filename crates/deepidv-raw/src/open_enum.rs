//! Open enumerations: the known values of an API string set plus `Unknown(String)`, so that a value
//! DeepIDV adds later decodes (and re-encodes) instead of failing the whole response.

/// Declares an open enumeration with its wire values.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the SDK does not know, kept exactly as the server sent it.
            Unknown(String),
        }

        impl $name {
            /// Every value this version knows, in the API's order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The value as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(other) => other,
                }
            }

            /// Whether this is a value the SDK does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, $name::Unknown(_))
            }
        }

        impl From<&str> for $name {
            fn from(wire: &str) -> Self {
                match wire {
                    $( $wire => $name::$variant, )+
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(wire: String) -> Self {
                match $name::from(wire.as_str()) {
                    $name::Unknown(_) => $name::Unknown(wire),
                    known => known,
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;

            fn from_str(wire: &str) -> Result<Self, Self::Err> {
                Ok($name::from(wire))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map($name::from)
            }
        }
    };
}

open_enum! {
    /// Where a session stands (`status`).
    SessionStatus {
        /// Created; the applicant has not submitted yet.
        Pending = "PENDING",
        /// The applicant submitted; awaiting a decision.
        Submitted = "SUBMITTED",
        /// Accepted.
        Verified = "VERIFIED",
        /// Refused.
        Rejected = "REJECTED",
        /// Cancelled.
        Voided = "VOIDED",
        /// Not completed in time.
        Expired = "EXPIRED",
        /// The checks could not be completed.
        Failed = "FAILED",
    }
}

open_enum! {
    /// What kind of session this is (`type`).
    SessionType {
        /// A workflow session.
        Session = "session",
        /// A standalone identity verification (no workflow).
        Verification = "verification",
        /// A credit application.
        CreditApplication = "credit-application",
        /// Screening without applicant interaction.
        SilentScreening = "silent-screening",
        /// Document collection and analysis.
        DeepDoc = "deep-doc",
    }
}

open_enum! {
    /// How far the applicant has got (`session_progress`).
    SessionProgress {
        /// The applicant has not opened the session.
        Pending = "PENDING",
        /// The applicant has started.
        Started = "STARTED",
        /// The applicant has finished.
        Completed = "COMPLETED",
    }
}

open_enum! {
    /// What a webhook delivery reports (its `type`).
    WebhookEventType {
        /// A session was created.
        SessionCreated = "session.created",
        /// The applicant submitted.
        SessionStatusSubmitted = "session.status.submitted",
        /// The session was verified.
        SessionStatusVerified = "session.status.verified",
        /// The session was rejected.
        SessionStatusRejected = "session.status.rejected",
        /// The session failed (listed on the newer docs only).
        SessionStatusFailed = "session.status.failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_values_round_trip() {
        let known: SessionStatus = serde_json::from_str("\"VERIFIED\"").unwrap();
        assert_eq!(known, SessionStatus::Verified);
        let unknown: SessionStatus = serde_json::from_str("\"ARCHIVED\"").unwrap();
        assert_eq!(unknown, SessionStatus::Unknown("ARCHIVED".into()));
        assert_eq!(serde_json::to_string(&unknown).unwrap(), "\"ARCHIVED\"");
        assert_eq!(
            SessionType::CreditApplication.to_string(),
            "credit-application"
        );
        assert_eq!(
            "COMPLETED".parse::<SessionProgress>(),
            Ok(SessionProgress::Completed)
        );
    }

    #[test]
    fn every_known_value_parses_back_to_itself() {
        for status in SessionStatus::KNOWN {
            assert_eq!(&SessionStatus::from(status.as_str()), status);
        }
        for kind in SessionType::KNOWN {
            assert_eq!(&SessionType::from(kind.as_str()), kind);
        }
    }
}
