#include "kvcontroller.h"

#include "apierror.h"
#include "percentcodec.h"

#include "../store/clock.h"
#include "../store/storeconnection.h"
#include "../store/storeerror.h"
#include "../store/writebatcher.h"
#include "../util/jsonscanner.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLocale>
#include <QLoggingCategory>

#include <cmath>
#include <cstdio>
#include <ctime>

using namespace Qt::StringLiterals;

Q_DECLARE_LOGGING_CATEGORY(lcHttp)

namespace kvdesk {

namespace {

constexpr int maxKeyBytes = 512;
constexpr int maxListLimit = 1000;
constexpr double maxTtlSeconds = 100.0 * 365 * 24 * 3600;

// Translated text of this file, under the context the translations file lists it in.
struct I18n
{
    Q_DECLARE_TR_FUNCTIONS(kvdesk::KvController)
};

QByteArray httpDate(qint64 ms)
{
    // RFC 9110 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT", without locale machinery.
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const time_t seconds = time_t(ms / 1000);
    // Many answers in a row name the same second: the last one is kept, per thread.
    thread_local time_t lastSeconds = -1;
    thread_local QByteArray lastText;
    if (seconds == lastSeconds && !lastText.isEmpty())
        return lastText;
    struct tm t = {};
    gmtime_r(&seconds, &t);
    char buffer[40];
    const int n = snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[t.tm_wday],
                           t.tm_mday, months[t.tm_mon], t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec);
    lastSeconds = seconds;
    lastText = QByteArray(buffer, n);
    return lastText;
}

// Splits an If-Match / If-None-Match value into its entity tags; "*" yields {"*"}.
QList<QByteArray> entityTags(QByteArrayView value)
{
    QList<QByteArray> tags;
    for (const QByteArray &part : value.toByteArray().split(',')) {
        const QByteArray tag = part.trimmed();
        if (!tag.isEmpty())
            tags.append(tag);
    }
    return tags;
}

QByteArray decodeKey(QByteArrayView raw)
{
    QString error;
    const auto bytes = PercentCodec::decode(raw, false, &error);
    if (!bytes)
        throw ApiError::validation(u"path"_s, {u"key"_s},
                                   I18n::tr("The key has a bad percent-escape: %1").arg(error));
    if (bytes->isEmpty())
        throw ApiError::validation(u"path"_s, {u"key"_s}, I18n::tr("The key is empty"));
    if (bytes->size() > maxKeyBytes)
        throw ApiError::validation(u"path"_s, {u"key"_s},
                                   I18n::tr("The key is %1 bytes long; at most %2 bytes are allowed")
                                       .arg(bytes->size())
                                       .arg(maxKeyBytes));
    if (!PercentCodec::isValidUtf8(*bytes))
        throw ApiError::validation(u"path"_s, {u"key"_s}, I18n::tr("The key is not valid UTF-8"));
    return *bytes;
}

Precondition preconditionOf(const Request &request, bool isPut)
{
    Precondition condition;
    const QByteArrayView ifMatch = request.header("if-match");
    const QByteArrayView ifNoneMatch = request.header("if-none-match");
    if (!ifMatch.isEmpty() && !ifNoneMatch.isEmpty())
        throw ApiError(400, I18n::tr("If-Match and If-None-Match cannot be combined"));
    if (!ifMatch.isEmpty()) {
        const auto tags = entityTags(ifMatch);
        condition.kind = tags.contains("*") ? Precondition::Kind::IfMatchAny : Precondition::Kind::IfMatch;
        condition.etags = tags;
    } else if (!ifNoneMatch.isEmpty()) {
        if (!isPut || ifNoneMatch.trimmed() != "*")
            throw ApiError(400, I18n::tr("If-None-Match on a write supports only \"*\" (create if absent)"));
        condition.kind = Precondition::Kind::IfNoneMatchAny;
    }
    return condition;
}

ApiError preconditionFailed()
{
    return ApiError(412, I18n::tr("Precondition failed: the key has changed or does not exist"));
}

} // namespace

KvController::KvController(StoreConnection &store, WriteBatcher &writer,
                           std::shared_ptr<ReplyChannel> channel, const Clock &clock, qint64 maxValueBytes)
    : m_store(store), m_writer(writer), m_channel(std::move(channel)), m_clock(clock),
      m_maxValueBytes(maxValueBytes)
{}

void KvController::handle(const Request &request, QByteArrayView rest, const Done &done)
{
    const QByteArray &method = request.head.method;
    if (rest.isEmpty() || rest == "/") {
        if (method == "GET" || method == "HEAD")
            return done(list(request));
        if (method == "PUT" || method == "DELETE")
            throw ApiError::validation(u"path"_s, {u"key"_s}, I18n::tr("The key is empty"));
        throw ApiError::methodNotAllowed("GET, HEAD");
    }
    const bool known = method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE";
    if (!known)
        throw ApiError::methodNotAllowed("GET, HEAD, PUT, DELETE");
    const QByteArray key = decodeKey(rest.sliced(1));
    if (method == "PUT")
        return put(request, key, done);
    if (method == "DELETE")
        return remove(request, key, done);
    if (m_store.gathersReads())
        return readLater(request, key, done);
    done(get(request, key));
}

void KvController::readLater(const Request &request, const QByteArray &key, const Done &done)
{
    if (m_pendingReads.empty() && !m_turnsEndedByOwner)
        m_channel->post([this] { readPending(); });
    m_pendingReads.push_back({key, request.header("if-none-match").toByteArray(), done});
}

void KvController::readPending()
{
    std::vector<PendingRead> reads;
    reads.swap(m_pendingReads);
    std::vector<QByteArrayView> keys;
    keys.reserve(reads.size());
    for (const PendingRead &read : reads)
        keys.push_back(read.key);
    std::vector<std::optional<StoredValue>> values;
    std::optional<Reply> failure; // as the router answers a failure
    try {
        values = m_store.getAll(keys);
    } catch (const StoreError &error) {
        qCWarning(lcHttp).noquote() << "GET of" << reads.size() << "keys failed:" << error.message();
        failure = ApiError::storeFailure(error).toReply();
    } catch (const std::exception &error) {
        qCCritical(lcHttp) << "GET of" << reads.size() << "keys failed:" << error.what();
        failure = ApiError::internal().toReply();
    }
    if (failure) {
        for (const PendingRead &read : reads)
            read.done(*failure);
        return;
    }
    for (size_t i = 0; i < reads.size(); ++i)
        reads[i].done(valueReply(reads[i].ifNoneMatch, values[i]));
}

void KvController::write(WriteRequest &&request, std::function<Reply(const WriteResult &)> onWritten,
                         const Done &done)
{
    // The answer is made on the writer thread and this thread only sends it: a server thread's
    // time per request is what sets the pace of a run of writes (see Performance in the README).
    // Each call runs once: what it holds is moved on, not copied. (done is captured as a copy of
    // its own, not const as the reference it comes from, so that it can be moved on: otherwise the
    // writer copied it, a heap allocation and four reference counts last touched on this thread.)
    m_writer.submit(std::move(request), [channel = m_channel, onWritten = std::move(onWritten),
                                         done = done](const WriteResult &result) mutable {
        Reply reply;
        if (!result.error.isEmpty()) {
            qCWarning(lcHttp).noquote() << "a write failed:" << result.error;
            reply = ApiError::storeFailure(result.temporary, result.error).toReply();
        } else if (result.outcome == WriteOutcome::PreconditionFailed) {
            reply = preconditionFailed().toReply();
        } else {
            reply = onWritten(result);
        }
        channel->post(
            [done = std::move(done), reply = std::move(reply)]() mutable { done(std::move(reply)); });
    });
}

Reply KvController::get(const Request &request, const QByteArray &key)
{
    return valueReply(request.header("if-none-match"), m_store.get(key));
}

Reply KvController::valueReply(QByteArrayView ifNoneMatch, const std::optional<StoredValue> &value)
{
    if (!value) {
        Reply reply = envelopeReply(404, "null");
        reply.header("X-Workertown-Hint"_ba, "The key does not exist or has expired."_ba);
        return reply;
    }
    Reply reply;
    if (!ifNoneMatch.isEmpty() &&
        (ifNoneMatch.trimmed() == "*" || entityTags(ifNoneMatch).contains(value->etag))) {
        reply.status = 304;
    } else {
        reply = envelopeReply(200, value->json);
    }
    reply.headers.reserve(3);
    reply.header("ETag"_ba, value->etag);
    reply.header("Last-Modified"_ba, httpDate(value->updatedAtMs));
    if (value->expiresAtMs)
        reply.header("Expires"_ba, httpDate(*value->expiresAtMs));
    return reply;
}

void KvController::put(const Request &request, const QByteArray &key, const Done &done)
{
    const Precondition condition = preconditionOf(request, true);
    JsonScanner::Error error;
    const auto members = JsonScanner::objectMembers(request.body, &error);
    if (!members) {
        const QString message =
            request.body.trimmed().isEmpty()
                ? I18n::tr("The body is empty; send a JSON object {\"value\": ..., \"ttl\"?: seconds}")
                : I18n::tr("The body is not a JSON object: %1").arg(error.describe());
        throw ApiError::validation(u"body"_s, {}, message);
    }
    std::optional<QByteArrayView> value;
    std::optional<QByteArrayView> ttl;
    for (const auto &m : *members) {
        if (m.name == "value"_L1)
            value = m.value;
        else if (m.name == "ttl"_L1)
            ttl = m.value;
    }
    if (!value || *value == "null")
        throw ApiError::validation(u"body"_s, {u"value"_s},
                                   value ? I18n::tr("value must not be null")
                                         : I18n::tr("value is required"));
    if (value->size() > m_maxValueBytes)
        throw ApiError(413, I18n::tr("The value is %1 bytes of JSON; at most %2 bytes are allowed")
                                .arg(value->size())
                                .arg(m_maxValueBytes));
    std::optional<qint64> expiresAtMs;
    if (ttl && *ttl != "null") {
        bool ok = false;
        const double seconds = QByteArray(ttl->data(), ttl->size()).toDouble(&ok);
        const bool number = !ttl->isEmpty() &&
                            (ttl->front() == '-' || std::isdigit(static_cast<unsigned char>(ttl->front())));
        if (!number || !ok || !std::isfinite(seconds) || seconds != std::floor(seconds) || seconds < 1 ||
            seconds > maxTtlSeconds)
            throw ApiError::validation(
                u"body"_s, {u"ttl"_s},
                I18n::tr("ttl must be a whole number of seconds, at least 1 (or null for no expiry)"));
        expiresAtMs = m_clock.nowMs() + qint64(seconds) * 1000;
    }
    const QByteArray json(value->data(), value->size());
    WriteRequest w{WriteRequest::Kind::Put, key, json, expiresAtMs, condition};
    write(
        std::move(w),
        [json, expiresAtMs](const WriteResult &result) {
            Reply reply = envelopeReply(200, json);
            reply.headers.reserve(2);
            reply.header("ETag"_ba, result.etag);
            if (expiresAtMs)
                reply.header("Expires"_ba, httpDate(*expiresAtMs));
            return reply;
        },
        done);
}

void KvController::remove(const Request &request, const QByteArray &key, const Done &done)
{
    WriteRequest w{WriteRequest::Kind::Remove, key, {}, std::nullopt, preconditionOf(request, false)};
    write(
        std::move(w), [](const WriteResult &) { return envelopeReply(200, "true"); }, done);
}

Reply KvController::list(const Request &request)
{
    QString error;
    const auto query = PercentCodec::decodeQuery(request.query(), &error);
    if (!query)
        throw ApiError::validation(u"query"_s, {}, error);
    QString prefix;
    QString after;
    int limit = maxListLimit;
    for (const auto &[name, value] : *query) {
        if (name == "prefix"_L1) {
            prefix = value;
        } else if (name == "cursor"_L1) {
            if (value.isEmpty())
                continue;
            const auto decoded = QByteArray::fromBase64Encoding(
                value.toLatin1(), QByteArray::Base64UrlEncoding | QByteArray::AbortOnBase64DecodingErrors);
            if (!decoded || decoded.decoded.isEmpty() || !PercentCodec::isValidUtf8(decoded.decoded))
                throw ApiError::validation(u"query"_s, {u"cursor"_s},
                                           I18n::tr("cursor is not one this server returned"));
            after = QString::fromUtf8(decoded.decoded);
        } else if (name == "limit"_L1) {
            bool ok = false;
            limit = value.toInt(&ok);
            if (!ok || limit < 1 || limit > maxListLimit)
                throw ApiError::validation(
                    u"query"_s, {u"limit"_s},
                    I18n::tr("limit must be a whole number from 1 to %1").arg(maxListLimit));
        }
    }
    const KeyPage page = m_store.list(prefix, after, limit);
    QJsonArray keys;
    for (const auto &k : page.keys) {
        keys.append(
            QJsonObject{{u"name"_s, k.name},
                        {u"expiration"_s, k.expiresAtMs ? QJsonValue(double((*k.expiresAtMs + 999) / 1000))
                                                        : QJsonValue(QJsonValue::Null)}});
    }
    QJsonValue cursor = QJsonValue::Null;
    if (!page.complete && !page.keys.isEmpty())
        cursor = QString::fromLatin1(page.keys.last().name.toUtf8().toBase64(QByteArray::Base64UrlEncoding |
                                                                             QByteArray::OmitTrailingEquals));
    const QJsonObject data{{u"keys"_s, keys}, {u"list_complete"_s, page.complete}, {u"cursor"_s, cursor}};
    return envelopeReply(200, QJsonDocument(data).toJson(QJsonDocument::Compact));
}

} // namespace kvdesk
