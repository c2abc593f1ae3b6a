#include "router.h"

#include "admincontroller.h"
#include "apierror.h"
#include "kvcontroller.h"
#include "publiccontroller.h"

#include "../auth/authenticator.h"
#include "../config/config.h"
#include "../store/storeerror.h"

#include <QLoggingCategory>

#include <memory>
#include <utility>

Q_LOGGING_CATEGORY(lcHttp, "kvdesk.http", QtInfoMsg)

namespace kvdesk {

Router::Router(const EndpointPaths &paths, Authenticator &authenticator, KvController &kv,
               AdminController &admin, PublicController &publicController)
    : m_authenticator(authenticator), m_kv(kv), m_admin(admin), m_public(publicController)
{
    if (paths.kv)
        m_mounts.append({EndpointPaths::join(paths.basePath, *paths.kv).toUtf8(), Group::Kv});
    if (paths.admin)
        m_mounts.append({EndpointPaths::join(paths.basePath, *paths.admin).toUtf8(), Group::Admin});
    if (paths.publicPrefix)
        m_mounts.append({EndpointPaths::join(paths.basePath, *paths.publicPrefix).toUtf8(), Group::Public});
    std::stable_sort(m_mounts.begin(), m_mounts.end(),
                     [](const Mount &a, const Mount &b) { return a.prefix.size() > b.prefix.size(); });
}

Reply Router::unauthorized() const
{
    return ApiError::unauthorized().header("WWW-Authenticate", m_authenticator.challenge()).toReply();
}

void Router::handle(Request &&request, QObject *context, Done done)
{
    const QByteArray path = request.path();
    for (const Mount &mount : std::as_const(m_mounts)) {
        if (!path.startsWith(mount.prefix))
            continue;
        const QByteArrayView rest = QByteArrayView(path).sliced(mount.prefix.size());
        if (!rest.isEmpty() && rest.front() != '/')
            continue;
        if (mount.group == Group::Public) {
            if (!PublicController::serves(rest))
                continue;
            dispatch(request, mount.group, rest, done);
            return;
        }
        const QByteArrayView authorization = request.header("authorization");
        AuthMemo *memo = std::exchange(request.authMemo, nullptr); // not kept past this check
        switch (m_authenticator.check(authorization, memo)) {
        case Authenticator::Verdict::Allowed:
            dispatch(request, mount.group, rest, done);
            return;
        case Authenticator::Verdict::Denied:
            done(unauthorized());
            return;
        case Authenticator::Verdict::NeedsKeys: {
            // The JWKS has no key for this token yet: fetch it, then go on.
            QByteArray heldAuthorization = authorization.toByteArray(); // before the request moves
            auto held = std::make_shared<Request>(std::move(request));
            const qsizetype restOffset = mount.prefix.size();
            const Group group = mount.group;
            m_authenticator.checkAfterRefresh(
                heldAuthorization, context, [this, held, restOffset, group, done](bool ok) {
                    if (!ok) {
                        done(unauthorized());
                        return;
                    }
                    const QByteArray heldPath = held->path();
                    dispatch(*held, group, QByteArrayView(heldPath).sliced(restOffset), done);
                });
            return;
        }
        }
    }
    done(ApiError::notFound().toReply());
}

void Router::dispatch(const Request &request, Group group, QByteArrayView rest, const Done &done)
{
    Reply reply;
    try {
        switch (group) {
        case Group::Kv:
            m_kv.handle(request, rest, done);
            return;
        case Group::Admin:
            reply = m_admin.handle(request, rest);
            break;
        case Group::Public:
            reply = m_public.handle(request, rest);
            break;
        }
    } catch (const ApiError &error) {
        reply = error.toReply();
    } catch (const StoreError &error) {
        qCWarning(lcHttp).noquote() << request.head.method << request.path() << "failed:" << error.message();
        reply = ApiError::storeFailure(error).toReply();
    } catch (const std::exception &error) {
        qCCritical(lcHttp) << request.head.method << request.path() << "failed:" << error.what();
        reply = ApiError::internal().toReply();
    }
    done(std::move(reply));
}

} // namespace kvdesk
