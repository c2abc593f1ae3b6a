#pragma once

#include "reply.h"
#include "request.h"

namespace kvdesk {

class Authenticator;
class Store;
struct Config;

// The admin endpoints: the effective configuration (never a secret) and schema migrations.
class AdminController final
{
public:
    AdminController(const Config &config, Store &store, const Authenticator &authenticator);

    // rest: the raw path after the admin prefix. Throws ApiError.
    Reply handle(const Request &request, QByteArrayView rest);

    QByteArray infoJson() const;

private:
    Reply migrate();

    const Config &m_config;
    Store &m_store;
    const Authenticator &m_authenticator;
};

} // namespace kvdesk
