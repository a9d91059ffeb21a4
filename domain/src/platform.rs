//! The device platforms a profile targets (Graph's names, seed: "Platform").

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Platform {
    Android,
    Ios,
    Macos,
    Windows10,
    Windows81,
    WindowsPhone81,
}

impl Platform {
    pub const ALL: [Platform; 6] = [
        Platform::Android,
        Platform::Ios,
        Platform::Macos,
        Platform::Windows10,
        Platform::Windows81,
        Platform::WindowsPhone81,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Android => "android",
            Platform::Ios => "ios",
            Platform::Macos => "macos",
            Platform::Windows10 => "windows10",
            Platform::Windows81 => "windows81",
            Platform::WindowsPhone81 => "windowsPhone81",
        }
    }

    /// Windows platforms share the ClientCertificateInstall and
    /// RootCATrustedCertificates CSPs, key storage providers and cert stores.
    pub fn is_windows(self) -> bool {
        matches!(
            self,
            Platform::Windows10 | Platform::Windows81 | Platform::WindowsPhone81
        )
    }

    /// iOS and macOS take the CA template's validity and have no hash-algorithm setting
    /// (seed: "iOS and macOS always use the value set in the template").
    pub fn is_apple(self) -> bool {
        matches!(self, Platform::Ios | Platform::Macos)
    }

    /// Whether a SCEP profile of this platform may name a trusted root profile of
    /// `root` as its root certificate. The seed says certificate profiles install
    /// only on the platform they were created for, and the root must install on
    /// the same device as the SCEP profile, so the platforms must be equal.
    pub fn accepts_root_from(self, root: Platform) -> bool {
        self == root
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform `{0}`")]
pub struct UnknownPlatform(pub String);

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|platform| platform.as_str() == value)
            .ok_or_else(|| UnknownPlatform(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::{Platform, UnknownPlatform};

    #[test]
    fn every_platform_round_trips_through_as_str_and_from_str() {
        let expected = [
            (Platform::Android, "android"),
            (Platform::Ios, "ios"),
            (Platform::Macos, "macos"),
            (Platform::Windows10, "windows10"),
            (Platform::Windows81, "windows81"),
            (Platform::WindowsPhone81, "windowsPhone81"),
        ];
        assert_eq!(Platform::ALL.len(), expected.len());
        for (platform, name) in expected {
            assert_eq!(platform.as_str(), name);
            assert_eq!(platform.to_string(), name);
            assert_eq!(name.parse::<Platform>(), Ok(platform));
        }
    }

    #[test]
    fn all_lists_every_platform_once() {
        let mut names: Vec<&str> = Platform::ALL.iter().map(|platform| platform.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Platform::ALL.len());
    }

    #[test]
    fn serde_names_equal_as_str() {
        for platform in Platform::ALL {
            let json = serde_json::to_string(&platform).unwrap();
            assert_eq!(json, format!("\"{}\"", platform.as_str()));
            assert_eq!(serde_json::from_str::<Platform>(&json).unwrap(), platform);
        }
    }

    #[test]
    fn unknown_or_differently_cased_names_are_rejected() {
        for name in [
            "",
            "Android",
            "IOS",
            "windows",
            "windowsphone81",
            "windows 10",
            " android",
            "linux",
        ] {
            assert_eq!(
                name.parse::<Platform>(),
                Err(UnknownPlatform(name.to_owned())),
                "{name:?}"
            );
        }
        assert_eq!(
            "linux".parse::<Platform>().unwrap_err().to_string(),
            "unknown platform `linux`"
        );
    }

    #[test]
    fn platform_families() {
        let cases = [
            (Platform::Android, false, false),
            (Platform::Ios, false, true),
            (Platform::Macos, false, true),
            (Platform::Windows10, true, false),
            (Platform::Windows81, true, false),
            (Platform::WindowsPhone81, true, false),
        ];
        for (platform, windows, apple) in cases {
            assert_eq!(platform.is_windows(), windows, "{platform}");
            assert_eq!(platform.is_apple(), apple, "{platform}");
        }
    }

    #[test]
    fn accepts_root_from_the_same_platform_only() {
        for profile in Platform::ALL {
            for root in Platform::ALL {
                assert_eq!(
                    profile.accepts_root_from(root),
                    profile == root,
                    "{profile} profile with {root} root"
                );
            }
        }
    }

    #[test]
    fn apple_platforms_do_not_share_roots() {
        assert!(!Platform::Ios.accepts_root_from(Platform::Macos));
        assert!(!Platform::Macos.accepts_root_from(Platform::Ios));
    }
}
