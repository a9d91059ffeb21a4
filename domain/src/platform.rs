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
        matches!(self, Platform::Windows10 | Platform::Windows81 | Platform::WindowsPhone81)
    }

    /// iOS and macOS take the CA template's validity and have no hash-algorithm setting
    /// (seed: "iOS and macOS always use the value set in the template").
    pub fn is_apple(self) -> bool {
        matches!(self, Platform::Ios | Platform::Macos)
    }

    /// Whether a SCEP profile of this platform may name a trusted root profile of
    /// `root` as its root certificate. The seed says certificate profiles install
    /// only on the platform they were created for, so the root must be for the same
    /// platform — except within the Windows family, whose CSPs are the same, so one
    /// Windows root profile may serve any Windows SCEP profile.
    pub fn accepts_root_from(self, root: Platform) -> bool {
        self == root || (self.is_windows() && root.is_windows())
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
