#include "openapi.h"

#include "../config/config.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace Qt::StringLiterals;

namespace kvdesk {

namespace {

QJsonObject ref(const QString &name)
{
    return QJsonObject{{u"$ref"_s, QString(u"#/components/schemas/"_s + name)}};
}

QJsonObject jsonContent(const QJsonObject &schema)
{
    return QJsonObject{{u"application/json"_s, QJsonObject{{u"schema"_s, schema}}}};
}

QJsonObject response(const QString &description, const QJsonObject &schema)
{
    return QJsonObject{{u"description"_s, description}, {u"content"_s, jsonContent(schema)}};
}

QJsonObject envelopeOf(const QJsonObject &data)
{
    return QJsonObject{
        {u"allOf"_s,
         QJsonArray{ref(u"Envelope"_s), QJsonObject{{u"type"_s, u"object"_s},
                                                    {u"properties"_s, QJsonObject{{u"data"_s, data}}}}}}};
}

QJsonObject errorResponse(const QString &description)
{
    return response(description, ref(u"Error"_s));
}

QJsonObject commonErrors(QJsonObject responses)
{
    responses.insert(u"401"_s, errorResponse(u"No valid credentials"_s));
    responses.insert(u"500"_s, errorResponse(u"Server error"_s));
    return responses;
}

QJsonObject parameter(const QString &name, const QString &in, const QString &description,
                      const QJsonObject &schema, bool required = false)
{
    return QJsonObject{{u"name"_s, name},
                       {u"in"_s, in},
                       {u"description"_s, description},
                       {u"required"_s, required},
                       {u"schema"_s, schema}};
}

QJsonObject schemas()
{
    const QJsonObject anyValue{{u"description"_s, u"Any JSON value except null"_s}};
    return QJsonObject{
        {u"Envelope"_s,
         QJsonObject{{u"type"_s, u"object"_s},
                     {u"required"_s, QJsonArray{u"status"_s, u"success"_s, u"data"_s}},
                     {u"properties"_s, QJsonObject{{u"status"_s, QJsonObject{{u"type"_s, u"integer"_s}}},
                                                   {u"success"_s, QJsonObject{{u"type"_s, u"boolean"_s}}},
                                                   {u"data"_s, QJsonObject{}}}}}},
        {u"Error"_s,
         QJsonObject{
             {u"type"_s, u"object"_s},
             {u"required"_s, QJsonArray{u"status"_s, u"success"_s, u"data"_s, u"error"_s}},
             {u"properties"_s,
              QJsonObject{
                  {u"status"_s, QJsonObject{{u"type"_s, u"integer"_s}}},
                  {u"success"_s, QJsonObject{{u"type"_s, u"boolean"_s}, {u"enum"_s, QJsonArray{false}}}},
                  {u"data"_s, QJsonObject{{u"nullable"_s, true}}},
                  {u"error"_s, QJsonObject{{u"type"_s, u"string"_s}}},
                  {u"errors"_s,
                   QJsonObject{
                       {u"type"_s, u"array"_s},
                       {u"items"_s,
                        QJsonObject{
                            {u"type"_s, u"object"_s},
                            {u"properties"_s,
                             QJsonObject{
                                 {u"location"_s,
                                  QJsonObject{{u"type"_s, u"string"_s},
                                              {u"enum"_s, QJsonArray{u"body"_s, u"query"_s, u"path"_s}}}},
                                 {u"path"_s,
                                  QJsonObject{{u"type"_s, u"array"_s}, {u"items"_s, QJsonObject{}}}},
                                 {u"message"_s, QJsonObject{{u"type"_s, u"string"_s}}}}}}}}}}}}},
        {u"PutBody"_s,
         QJsonObject{
             {u"type"_s, u"object"_s},
             {u"required"_s, QJsonArray{u"value"_s}},
             {u"properties"_s,
              QJsonObject{{u"value"_s, anyValue},
                          {u"ttl"_s, QJsonObject{{u"type"_s, u"integer"_s},
                                                 {u"minimum"_s, 1},
                                                 {u"nullable"_s, true},
                                                 {u"description"_s, u"Seconds until the key expires"_s}}}}}}},
        {u"KeyList"_s,
         QJsonObject{
             {u"type"_s, u"object"_s},
             {u"properties"_s,
              QJsonObject{
                  {u"keys"_s,
                   QJsonObject{
                       {u"type"_s, u"array"_s},
                       {u"items"_s,
                        QJsonObject{{u"type"_s, u"object"_s},
                                    {u"properties"_s,
                                     QJsonObject{{u"name"_s, QJsonObject{{u"type"_s, u"string"_s}}},
                                                 {u"expiration"_s,
                                                  QJsonObject{{u"type"_s, u"integer"_s},
                                                              {u"nullable"_s, true},
                                                              {u"description"_s, u"Unix seconds"_s}}}}}}}}},
                  {u"list_complete"_s, QJsonObject{{u"type"_s, u"boolean"_s}}},
                  {u"cursor"_s, QJsonObject{{u"type"_s, u"string"_s}, {u"nullable"_s, true}}}}}}},
        {u"Migration"_s, QJsonObject{{u"type"_s, u"object"_s},
                                     {u"properties"_s,
                                      QJsonObject{{u"migrationName"_s, QJsonObject{{u"type"_s, u"string"_s}}},
                                                  {u"direction"_s, QJsonObject{{u"type"_s, u"string"_s}}},
                                                  {u"status"_s, QJsonObject{{u"type"_s, u"string"_s}}}}}}},
    };
}

void addKvPaths(QJsonObject &paths, const QString &kv)
{
    const QJsonObject keyParam = parameter(
        u"key"_s, u"path"_s, u"The key, percent-encoded; it may contain '/' (1 to 512 bytes of UTF-8)"_s,
        QJsonObject{{u"type"_s, u"string"_s}}, true);
    const QJsonObject ifMatch =
        parameter(u"If-Match"_s, u"header"_s, u"Write only if the key still has this ETag (or * : exists)"_s,
                  QJsonObject{{u"type"_s, u"string"_s}});
    const QJsonObject ifNoneMatch =
        parameter(u"If-None-Match"_s, u"header"_s, u"* : write only if the key is absent"_s,
                  QJsonObject{{u"type"_s, u"string"_s}});
    const QJsonObject security{{u"security"_s, QJsonArray{QJsonObject{{u"bearerAuth"_s, QJsonArray{}}},
                                                          QJsonObject{{u"basicAuth"_s, QJsonArray{}}}}}};
    QJsonObject get{{u"summary"_s, u"Get a key's value"_s},
                    {u"operationId"_s, u"getValue"_s},
                    {u"parameters"_s, QJsonArray{keyParam}},
                    {u"responses"_s,
                     commonErrors(QJsonObject{
                         {u"200"_s, response(u"The value (ETag and, with a TTL, Expires headers)"_s,
                                             envelopeOf(QJsonObject{}))},
                         {u"304"_s, QJsonObject{{u"description"_s, u"Not modified (If-None-Match)"_s}}},
                         {u"400"_s, errorResponse(u"Bad key"_s)},
                         {u"404"_s, response(u"Absent or expired: data is null"_s, ref(u"Envelope"_s))}})}};
    QJsonObject put{
        {u"summary"_s, u"Write a key's value and TTL"_s},
        {u"operationId"_s, u"putValue"_s},
        {u"parameters"_s, QJsonArray{keyParam, ifMatch, ifNoneMatch}},
        {u"requestBody"_s,
         QJsonObject{{u"required"_s, true}, {u"content"_s, jsonContent(ref(u"PutBody"_s))}}},
        {u"responses"_s,
         commonErrors(QJsonObject{{u"200"_s, response(u"The stored value"_s, envelopeOf(QJsonObject{}))},
                                  {u"400"_s, errorResponse(u"Bad body or key"_s)},
                                  {u"412"_s, errorResponse(u"Precondition failed"_s)},
                                  {u"413"_s, errorResponse(u"Value too large (25 MiB at most)"_s)}})}};
    QJsonObject del{
        {u"summary"_s, u"Delete a key"_s},
        {u"operationId"_s, u"deleteValue"_s},
        {u"parameters"_s, QJsonArray{keyParam, ifMatch}},
        {u"responses"_s,
         commonErrors(QJsonObject{{u"200"_s, response(u"Deleted (also when absent)"_s,
                                                      envelopeOf(QJsonObject{{u"type"_s, u"boolean"_s}}))},
                                  {u"412"_s, errorResponse(u"Precondition failed"_s)}})}};
    for (auto *op : {&get, &put, &del}) {
        for (auto it = security.begin(); it != security.end(); ++it)
            op->insert(it.key(), it.value());
    }
    paths.insert(kv + u"/{key}"_s, QJsonObject{{u"get"_s, get}, {u"put"_s, put}, {u"delete"_s, del}});

    QJsonObject list{
        {u"summary"_s, u"List keys in byte order"_s},
        {u"operationId"_s, u"listKeys"_s},
        {u"parameters"_s, QJsonArray{parameter(u"prefix"_s, u"query"_s, u"Only keys starting with this"_s,
                                               QJsonObject{{u"type"_s, u"string"_s}}),
                                     parameter(u"cursor"_s, u"query"_s, u"The cursor of the previous page"_s,
                                               QJsonObject{{u"type"_s, u"string"_s}}),
                                     parameter(u"limit"_s, u"query"_s, u"Keys per page"_s,
                                               QJsonObject{{u"type"_s, u"integer"_s},
                                                           {u"minimum"_s, 1},
                                                           {u"maximum"_s, 1000},
                                                           {u"default"_s, 1000}})}},
        {u"responses"_s,
         commonErrors(QJsonObject{{u"200"_s, response(u"A page of keys"_s, envelopeOf(ref(u"KeyList"_s)))},
                                  {u"400"_s, errorResponse(u"Bad query"_s)}})}};
    for (auto it = security.begin(); it != security.end(); ++it)
        list.insert(it.key(), it.value());
    paths.insert(kv.isEmpty() ? u"/"_s : kv, QJsonObject{{u"get"_s, list}});
}

} // namespace

QByteArray OpenApi::document(const EndpointPaths &endpoints, const QString &serverUrl)
{
    QJsonObject paths;
    const QJsonArray security{QJsonObject{{u"bearerAuth"_s, QJsonArray{}}},
                              QJsonObject{{u"basicAuth"_s, QJsonArray{}}}};
    if (endpoints.kv)
        addKvPaths(paths, EndpointPaths::join(endpoints.basePath, *endpoints.kv));
    if (endpoints.admin) {
        const QString admin = EndpointPaths::join(endpoints.basePath, *endpoints.admin);
        paths.insert(
            admin + u"/info"_s,
            QJsonObject{
                {u"get"_s,
                 QJsonObject{
                     {u"summary"_s, u"The effective configuration, without secrets"_s},
                     {u"operationId"_s, u"getInfo"_s},
                     {u"security"_s, security},
                     {u"responses"_s,
                      commonErrors(QJsonObject{
                          {u"200"_s, response(u"Configuration"_s,
                                              envelopeOf(QJsonObject{{u"type"_s, u"object"_s}}))}})}}}});
        paths.insert(
            admin + u"/migrate"_s,
            QJsonObject{
                {u"post"_s,
                 QJsonObject{{u"summary"_s, u"Run pending schema migrations"_s},
                             {u"operationId"_s, u"migrate"_s},
                             {u"security"_s, security},
                             {u"responses"_s,
                              commonErrors(QJsonObject{
                                  {u"200"_s, response(u"Migrations run"_s,
                                                      envelopeOf(QJsonObject{
                                                          {u"type"_s, u"array"_s},
                                                          {u"items"_s, ref(u"Migration"_s)}}))}})}}}});
        auto queryParameter = [](const QString &name, const QString &description, const QJsonArray &values) {
            QJsonObject schema{{u"type"_s, u"string"_s}};
            if (!values.isEmpty())
                schema.insert(u"enum"_s, values);
            return parameter(name, u"query"_s, description, schema);
        };
        const QJsonObject dump{
            {u"type"_s, u"string"_s},
            {u"description"_s,
             u"NDJSON: one {\"key\", \"value\", \"expiration\"} per line (expiration in Unix "
             u"seconds, absent when the key never expires); or, with format, the JSON array "
             u"of `wrangler kv bulk put` (values as strings) or a {\"key\": value} object"_s}};
        paths.insert(
            admin + u"/export"_s,
            QJsonObject{
                {u"get"_s,
                 QJsonObject{
                     {u"summary"_s, u"Every live key (or those under a prefix), streamed"_s},
                     {u"operationId"_s, u"exportKeys"_s},
                     {u"security"_s, security},
                     {u"parameters"_s,
                      QJsonArray{queryParameter(u"prefix"_s, u"Only keys that start with this"_s, {}),
                                 queryParameter(u"format"_s, u"The dump format (default ndjson)"_s,
                                                QJsonArray{u"ndjson"_s, u"wrangler"_s, u"json"_s})}},
                     {u"responses"_s,
                      commonErrors(QJsonObject{
                          {u"200"_s, QJsonObject{{u"description"_s, u"The dump, sent chunked"_s},
                                                 {u"content"_s,
                                                  QJsonObject{{u"application/x-ndjson"_s,
                                                               QJsonObject{{u"schema"_s, dump}}}}}}}})}}}});
        paths.insert(
            admin + u"/import"_s,
            QJsonObject{
                {u"post"_s,
                 QJsonObject{
                     {u"summary"_s,
                      u"Write the keys of a dump (NDJSON, a wrangler array or a JSON object) in "
                      u"batches of 1,000, each one transaction; bad records are counted and skipped"_s},
                     {u"operationId"_s, u"importKeys"_s},
                     {u"security"_s, security},
                     {u"parameters"_s,
                      QJsonArray{queryParameter(u"dry_run"_s,
                                                u"true: report what would change, write nothing"_s,
                                                QJsonArray{u"true"_s, u"false"_s}),
                                 queryParameter(u"on_conflict"_s,
                                                u"What to do with keys that exist (default overwrite)"_s,
                                                QJsonArray{u"overwrite"_s, u"skip"_s})}},
                     {u"requestBody"_s,
                      QJsonObject{{u"required"_s, true},
                                  {u"content"_s, QJsonObject{{u"application/x-ndjson"_s,
                                                              QJsonObject{{u"schema"_s, dump}}}}}}},
                     {u"responses"_s,
                      commonErrors(QJsonObject{
                          {u"200"_s,
                           response(u"What was written, skipped or invalid (with the first bad line)"_s,
                                    envelopeOf(QJsonObject{{u"type"_s, u"object"_s}}))}})}}}});
    }
    if (endpoints.publicPrefix) {
        const QString pub = EndpointPaths::join(endpoints.basePath, *endpoints.publicPrefix);
        paths.insert(
            pub + u"/health"_s,
            QJsonObject{
                {u"get"_s,
                 QJsonObject{{u"summary"_s, u"Health check"_s},
                             {u"operationId"_s, u"health"_s},
                             {u"responses"_s,
                              QJsonObject{{u"200"_s, response(u"OK"_s, envelopeOf(QJsonObject{
                                                                           {u"type"_s, u"string"_s}}))}}}}}});
        paths.insert(
            pub + u"/open-api.json"_s,
            QJsonObject{
                {u"get"_s, QJsonObject{{u"summary"_s, u"This document"_s},
                                       {u"operationId"_s, u"openApi"_s},
                                       {u"responses"_s,
                                        QJsonObject{{u"200"_s, QJsonObject{{u"description"_s,
                                                                            u"OpenAPI 3 document"_s}}}}}}}});
    }
    const QJsonObject document{
        {u"openapi"_s, u"3.0.3"_s},
        {u"info"_s, QJsonObject{{u"title"_s, u"KV Desk"_s},
                                {u"version"_s, QStringLiteral(KVDESK_VERSION)},
                                {u"description"_s,
                                 u"A JSON key/value store over HTTP, compatible with @workertown/kv"_s}}},
        {u"servers"_s, QJsonArray{QJsonObject{{u"url"_s, serverUrl}}}},
        {u"paths"_s, paths},
        {u"components"_s,
         QJsonObject{
             {u"schemas"_s, schemas()},
             {u"securitySchemes"_s,
              QJsonObject{
                  {u"bearerAuth"_s, QJsonObject{{u"type"_s, u"http"_s},
                                                {u"scheme"_s, u"bearer"_s},
                                                {u"description"_s, u"An API key or a JWT"_s}}},
                  {u"basicAuth"_s, QJsonObject{{u"type"_s, u"http"_s}, {u"scheme"_s, u"basic"_s}}}}}}},
    };
    return QJsonDocument(document).toJson(QJsonDocument::Compact);
}

} // namespace kvdesk
