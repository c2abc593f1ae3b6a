#pragma once

#include <QString>

namespace kvdesk {

// The server's credentials; a strategy is on when its settings are present.
struct AuthSettings
{
    QString apiKey;
    QString username;
    QString password;
    QString jwtSecret;
    QString jwksUrl;
    QString jwtIssuer;
    QString jwtAudience;

    bool apiKeyEnabled() const { return !apiKey.isEmpty(); }
    bool basicEnabled() const { return !username.isEmpty() && !password.isEmpty(); }
    bool jwtSecretEnabled() const { return !jwtSecret.isEmpty(); }
    bool jwksEnabled() const { return !jwksUrl.isEmpty(); }
    bool jwtEnabled() const { return jwtSecretEnabled() || jwksEnabled(); }
    bool anyEnabled() const { return apiKeyEnabled() || basicEnabled() || jwtEnabled(); }
};

} // namespace kvdesk
