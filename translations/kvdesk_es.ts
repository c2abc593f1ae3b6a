<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="es">
<context>
    <name>QObject</name>
    <message>
        <location filename="../server/credentials/keychainstore.cpp" line="+27"/>
        <source>The keychain holds no KV Desk credentials.</source>
        <translation>El llavero no contiene credenciales de KV Desk.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>No keychain is available on this system (%1).</source>
        <translation>No hay ningún llavero disponible en este sistema (%1).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The keychain refused access (%1). Is it locked?</source>
        <translation>El llavero denegó el acceso (%1). ¿Está bloqueado?</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>No keychain is available (no Secret Service: %1).</source>
        <translation>No hay ningún llavero disponible (no hay Secret Service: %1).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The keychain failed: %1</source>
        <translation>El llavero falló: %1</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>The keychain did not answer within %1 s (is it locked, waiting for a password prompt?).</source>
        <translation>El llavero no respondió en %1 s (¿está bloqueado o esperando una contraseña?).</translation>
    </message>
</context>
<context>
    <name>kvdesk::ApiError</name>
    <message>
        <location filename="../server/http/apierror.cpp" line="+41"/>
        <source>Bad Request</source>
        <translation>Solicitud incorrecta</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Not found</source>
        <translation>No encontrado</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Unauthorized</source>
        <translation>No autorizado</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Method not allowed</source>
        <translation>Método no permitido</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Internal server error</source>
        <translation>Error interno del servidor</translation>
    </message>
</context>
<context>
    <name>kvdesk::ConfigLoader</name>
    <message>
        <location filename="../server/config/configloader.cpp" line="+44"/>
        <source>config file %1: unknown key &quot;%2&quot;</source>
        <translation>archivo de configuración %1: clave desconocida «%2»</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>config file %1: %2 must be an object</source>
        <translation>archivo de configuración %1: %2 debe ser un objeto</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>config file %1: %2 must be a non-empty string</source>
        <translation>archivo de configuración %1: %2 debe ser una cadena no vacía</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>config file %1: %2 must be a number from %3 to %4</source>
        <translation>archivo de configuración %1: %2 debe ser un número de %3 a %4</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>config file %1: %2 must be true or false</source>
        <translation>archivo de configuración %1: %2 debe ser true o false</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>cannot read the config file %1: %2</source>
        <translation>no se puede leer el archivo de configuración %1: %2</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>config file %1 is not valid JSON: %2 (at byte %3)</source>
        <translation>el archivo de configuración %1 no es JSON válido: %2 (en el byte %3)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>config file %1 must hold a JSON object</source>
        <translation>el archivo de configuración %1 debe contener un objeto JSON</translation>
    </message>
    <message>
        <location line="+43"/>
        <source>config file %1: basePath cannot be switched off</source>
        <translation>archivo de configuración %1: basePath no se puede desactivar</translation>
    </message>
    <message>
        <location line="+50"/>
        <source>--%1 must be a number of seconds from 0.01 to 86400, not &quot;%2&quot;</source>
        <translation>--%1 debe ser un número de segundos de 0,01 a 86400, no «%2»</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>--%1 must be a whole number from %2 to %3, not &quot;%4&quot;</source>
        <translation>--%1 debe ser un número entero de %2 a %3, no «%4»</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>the database URL %1 names no file</source>
        <translation>la URL de base de datos %1 no indica ningún archivo</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>unsupported database URL %1 (use a file path or sqlite:///path)</source>
        <translation>URL de base de datos no admitida: %1 (use una ruta de archivo o sqlite:///ruta)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>the database must be a file (an in-memory database cannot be shared between threads)</source>
        <translation>la base de datos debe ser un archivo (una base en memoria no se puede compartir entre hilos)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>%1 must be a path starting with &quot;/&quot; (or false), not &quot;%2&quot;</source>
        <translation>%1 debe ser una ruta que empiece por «/» (o false), no «%2»</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>KV Desk: a JSON key/value store with a REST API compatible with @workertown/kv.</source>
        <translation>KV Desk: un almacén clave/valor JSON con una API REST compatible con @workertown/kv.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Run only the server, without a window.</source>
        <translation>Ejecutar solo el servidor, sin ventana.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Do not read credentials from the OS keychain (environment and config file only).</source>
        <translation>No leer credenciales del llavero del sistema (solo entorno y archivo de configuración).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Language of the window and the messages, such as de, fr or es (default: the system&apos;s).</source>
        <translation>Idioma de la ventana y de los mensajes, como de, fr o es (predeterminado: el del sistema).</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>code</source>
        <translation>código</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Address to listen on (default 127.0.0.1).</source>
        <translation>Dirección en la que escuchar (predeterminada 127.0.0.1).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>address</source>
        <translation>dirección</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Port to listen on (default 8787; 0 picks a free one).</source>
        <translation>Puerto en el que escuchar (predeterminado 8787; 0 elige uno libre).</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>port</source>
        <translation>puerto</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The database: an SQLite file path, sqlite:///path, or postgres://user:password@host:port/database (default: kv.sqlite in the application-data folder). Overrides KV_DB.</source>
        <translation>La base de datos: la ruta de un archivo SQLite, sqlite:///ruta o postgres://usuario:contraseña@host:puerto/base (predeterminada: kv.sqlite en la carpeta de datos de la aplicación). Tiene prioridad sobre KV_DB.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>path-or-url</source>
        <translation>ruta-o-url</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A JSON config file shaped like the original&apos;s options object.</source>
        <translation>Un archivo de configuración JSON con la forma del objeto de opciones del original.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>file</source>
        <translation>archivo</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Base path of every endpoint (default /).</source>
        <translation>Ruta base de todos los puntos de acceso (predeterminada /).</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+3"/>
        <location line="+4"/>
        <location line="+3"/>
        <source>path</source>
        <translation>ruta</translation>
    </message>
    <message>
        <location line="-8"/>
        <source>Prefix of the kv endpoints (default /v1/kv; false switches them off).</source>
        <translation>Prefijo de los puntos de acceso kv (predeterminado /v1/kv; false los desactiva).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Prefix of the admin endpoints (default /v1/admin; false switches them off).</source>
        <translation>Prefijo de los puntos de acceso de administración (predeterminado /v1/admin; false los desactiva).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Prefix of the public endpoints (default /; false switches them off).</source>
        <translation>Prefijo de los puntos de acceso públicos (predeterminado /; false los desactiva).</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Number of server threads (default: one per core).</source>
        <translation>Número de hilos del servidor (predeterminado: uno por núcleo).</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+7"/>
        <source>n</source>
        <translation>n</translation>
    </message>
    <message>
        <location line="-4"/>
        <source>Seconds a client has to send a whole request, and that an idle connection stays open (default 30).</source>
        <translation>Segundos que tiene un cliente para enviar una solicitud completa, y que una conexión inactiva permanece abierta (predeterminado 30).</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+9"/>
        <source>seconds</source>
        <translation>segundos</translation>
    </message>
    <message>
        <location line="-7"/>
        <source>Most open connections at once (default 1024).</source>
        <translation>Máximo de conexiones abiertas a la vez (predeterminado 1024).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Bound of the in-memory read cache in MiB (default 256; 0 switches it off).</source>
        <translation>Límite de la caché de lectura en memoria en MiB (predeterminado 256; 0 la desactiva).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>mib</source>
        <translation>mib</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Seconds between removals of expired keys&apos; rows (default 60).</source>
        <translation>Segundos entre eliminaciones de las filas de claves caducadas (predeterminado 60).</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>
Environment:
  KV_DB                         The database (as --db).
  KV_API_KEY                    API key, sent as &quot;Authorization: Bearer &lt;key&gt;&quot;.
  KV_USERNAME, KV_PASSWORD      Basic authentication.
  KV_JWT_SECRET                 HMAC secret of JWTs (HS256/384/512).
  KV_JWKS_URL                   JWKS of JWT public keys (RS256/384/512, ES256/384).
  KV_JWT_ISSUER, KV_JWT_AUDIENCE  Required iss and aud of JWTs.
The config file may rename these variables. They win over the credentials kept in
the OS keychain (see: kvdesk credentials --help).

Commands:
  kvdesk credentials show|set|rotate|clear   The credentials kept in the OS keychain.
  kvdesk export [--prefix P] [--format ndjson|wrangler|json] [FILE]
  kvdesk import [--dry-run] [--on-conflict skip|overwrite] FILE
</source>
        <translation>
Entorno:
  KV_DB                         La base de datos (como --db).
  KV_API_KEY                    Clave de API, enviada como &quot;Authorization: Bearer &lt;key&gt;&quot;.
  KV_USERNAME, KV_PASSWORD      Autenticación Basic.
  KV_JWT_SECRET                 Secreto HMAC de los JWT (HS256/384/512).
  KV_JWKS_URL                   JWKS de las claves públicas de los JWT (RS256/384/512, ES256/384).
  KV_JWT_ISSUER, KV_JWT_AUDIENCE  iss y aud exigidos a los JWT.
El archivo de configuración puede renombrar estas variables. Tienen prioridad sobre las
credenciales guardadas en el llavero del sistema (véase: kvdesk credentials --help).

Órdenes:
  kvdesk credentials show|set|rotate|clear   Las credenciales guardadas en el llavero del sistema.
  kvdesk export [--prefix P] [--format ndjson|wrangler|json] [ARCHIVO]
  kvdesk import [--dry-run] [--on-conflict skip|overwrite] ARCHIVO
</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>unexpected argument &quot;%1&quot;</source>
        <translation>argumento inesperado «%1»</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>%1 must be an http(s) URL, not &quot;%2&quot;</source>
        <translation>%1 debe ser una URL http(s), no «%2»</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>--base-path cannot be switched off</source>
        <translation>--base-path no se puede desactivar</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>--host must be an IP address, not &quot;%1&quot;</source>
        <translation>--host debe ser una dirección IP, no «%1»</translation>
    </message>
</context>
<context>
    <name>kvdesk::ConflictDialog</name>
    <message>
        <location filename="../ui/conflictdialog.cpp" line="+19"/>
        <source>The value changed meanwhile</source>
        <translation>El valor cambió mientras tanto</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>“%1” was deleted since you opened it. Keep your version (creating the key again), or drop it?</source>
        <translation>«%1» se eliminó desde que lo abrió. ¿Conservar su versión (se volverá a crear la clave) o descartarla?</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>“%1” was changed by someone else since you opened it. Which version do you want to keep?</source>
        <translation>«%1» lo cambió otra persona desde que lo abrió. ¿Qué versión quiere conservar?</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Keep &amp;Mine</source>
        <translation>Conservar la &amp;mía</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Drop Mine</source>
        <translation>&amp;Descartar la mía</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Take Theirs</source>
        <translation>&amp;Tomar la suya</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Back to &amp;Editing</source>
        <translation>Volver a &amp;editar</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Yours (not saved)</source>
        <translation>La suya (sin guardar)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stored (deleted)</source>
        <translation>Guardada (eliminada)</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Stored now</source>
        <translation>Guardada ahora</translation>
    </message>
</context>
<context>
    <name>kvdesk::ConnectionGuard</name>
    <message>
        <location filename="../server/http/connectionguard.cpp" line="+77"/>
        <source>Too many open connections</source>
        <translation>Demasiadas conexiones abiertas</translation>
    </message>
</context>
<context>
    <name>kvdesk::CredentialVault</name>
    <message>
        <location filename="../server/credentials/credentialvault.cpp" line="+69"/>
        <source>The credentials in the keychain are unreadable; save new ones.</source>
        <translation>Las credenciales del llavero son ilegibles; guarde otras nuevas.</translation>
    </message>
</context>
<context>
    <name>kvdesk::CredentialsCommand</name>
    <message>
        <location filename="../server/commands/credentialscommand.cpp" line="+29"/>
        <source>api key</source>
        <translation>clave de API</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>basic (user &quot;%1&quot;)</source>
        <translation>basic (usuario «%1»)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>jwt (HMAC secret)</source>
        <translation>jwt (secreto HMAC)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>jwt (JWKS %1)</source>
        <translation>jwt (JWKS %1)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>jwt issuer &quot;%1&quot;</source>
        <translation>emisor jwt «%1»</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>jwt audience &quot;%1&quot;</source>
        <translation>audiencia jwt «%1»</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Strategies on: none
</source>
        <translation>Métodos activos: ninguno
</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Strategies on: %1
</source>
        <translation>Métodos activos: %1
</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The server&apos;s credentials, kept in the OS keychain (service &quot;kvdesk&quot;). Environment variables and flags of the server win over them.

  show     list the strategies that are on, and print the API key
  set      set the given credentials (an empty value switches one off; &quot;-&quot; reads it from standard input)
  rotate   generate a new API key, keep it and print it
  clear    remove every credential</source>
        <translation>Las credenciales del servidor, guardadas en el llavero del sistema (servicio &quot;kvdesk&quot;). Las variables de entorno y las opciones del servidor tienen prioridad sobre ellas.

  show     listar los métodos activos y mostrar la clave de API
  set      establecer las credenciales indicadas (un valor vacío desactiva una; &quot;-&quot; lo lee de la entrada estándar)
  rotate   generar una clave de API nueva, guardarla y mostrarla
  clear    eliminar todas las credenciales</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>show, set, rotate or clear</source>
        <translation>show, set, rotate o clear</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>API key.</source>
        <translation>Clave de API.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>key</source>
        <translation>clave</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Basic user name.</source>
        <translation>Nombre de usuario Basic.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>name</source>
        <translation>nombre</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Basic password.</source>
        <translation>Contraseña Basic.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>password</source>
        <translation>contraseña</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>HMAC secret of JWTs.</source>
        <translation>Secreto HMAC de los JWT.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>secret</source>
        <translation>secreto</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>URL of a JWKS.</source>
        <translation>URL de un JWKS.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>url</source>
        <translation>url</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Required iss of JWTs.</source>
        <translation>iss exigido a los JWT.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>issuer</source>
        <translation>emisor</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Required aud of JWTs.</source>
        <translation>aud exigido a los JWT.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>audience</source>
        <translation>audiencia</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>kvdesk credentials: say show, set, rotate or clear (see --help)
</source>
        <translation>kvdesk credentials: indique show, set, rotate o clear (véase --help)
</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>kvdesk credentials: %1
</source>
        <translation>kvdesk credentials: %1
</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Removed the credentials from the keychain.
</source>
        <translation>Se eliminaron las credenciales del llavero.
</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>API key: %1
</source>
        <translation>Clave de API: %1
</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>New API key (the old one stops working when the server reads it again): %1
</source>
        <translation>Clave de API nueva (la anterior deja de funcionar cuando el servidor vuelve a leerlas): %1
</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>kvdesk credentials: Basic needs both a user name and a password
</source>
        <translation>kvdesk credentials: Basic necesita un nombre de usuario y una contraseña
</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>kvdesk credentials: unknown action &quot;%1&quot; (show, set, rotate or clear)
</source>
        <translation>kvdesk credentials: acción desconocida «%1» (show, set, rotate o clear)
</translation>
    </message>
</context>
<context>
    <name>kvdesk::CredentialsDialog</name>
    <message>
        <location filename="../ui/credentialsdialog.cpp" line="+24"/>
        <source>Server Credentials</source>
        <translation>Credenciales del servidor</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>API key (&quot;Authorization: Bearer &lt;key&gt;&quot;)</source>
        <translation>Clave de API (&quot;Authorization: Bearer &lt;key&gt;&quot;)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Rotate</source>
        <translation>&amp;Renovar</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Generate</source>
        <translation>&amp;Generar</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A new random key (32 bytes); the old one stops working once you save</source>
        <translation>Una clave aleatoria nueva (32 bytes); la anterior deja de funcionar al guardar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Copy</source>
        <translation>Copiar</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Basic (user name and password)</source>
        <translation>Basic (nombre de usuario y contraseña)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>JWT (HMAC secret, or public keys from a JWKS)</source>
        <translation>JWT (secreto HMAC, o claves públicas de un JWKS)</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Key:</source>
        <translation>Clave:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>User name:</source>
        <translation>Nombre de usuario:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Password:</source>
        <translation>Contraseña:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Secret:</source>
        <translation>Secreto:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>JWKS URL:</source>
        <translation>URL del JWKS:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Issuer (iss):</source>
        <translation>Emisor (iss):</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Audience (aud):</source>
        <translation>Audiencia (aud):</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>An API key needs at least 16 characters (Generate makes a strong one).</source>
        <translation>Una clave de API necesita al menos 16 caracteres (Generar crea una robusta).</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Basic needs both a user name and a password.</source>
        <translation>Basic necesita un nombre de usuario y una contraseña.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A Basic user name cannot contain &apos;:&apos;.</source>
        <translation>Un nombre de usuario Basic no puede contener «:».</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>JWT needs a secret or a JWKS URL.</source>
        <translation>JWT necesita un secreto o una URL de JWKS.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The JWKS URL must be an http(s) URL.</source>
        <translation>La URL del JWKS debe ser una URL http(s).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>With every strategy off, every kv and admin request is refused (401).</source>
        <translation>Con todos los métodos desactivados, se rechaza toda solicitud kv y de administración (401).</translation>
    </message>
</context>
<context>
    <name>kvdesk::DatabaseDialog</name>
    <message>
        <location filename="../ui/databasedialog.cpp" line="+24"/>
        <source>Open PostgreSQL Database</source>
        <translation>Abrir una base de datos PostgreSQL</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Prefer (encrypted when the server offers it)</source>
        <translation>Preferir (cifrado si el servidor lo ofrece)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Require</source>
        <translation>Exigir</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Disable</source>
        <translation>Desactivar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keep the password in the OS keychain</source>
        <translation>Guardar la contraseña en el llavero del sistema</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&amp;Host:</source>
        <translation>&amp;Host:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Port:</source>
        <translation>&amp;Puerto:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Database:</source>
        <translation>&amp;Base de datos:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;User:</source>
        <translation>&amp;Usuario:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Pass&amp;word:</source>
        <translation>Contra&amp;seña:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Encryption:</source>
        <translation>&amp;Cifrado:</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Open</source>
        <translation>&amp;Abrir</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>KV Desk reopens on this database; several KV Desk servers can share it.</source>
        <translation>KV Desk se vuelve a abrir con esta base de datos; varios servidores KV Desk pueden compartirla.</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>Name the server&apos;s host.</source>
        <translation>Indique el host del servidor.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Name the database.</source>
        <translation>Indique la base de datos.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Name the user.</source>
        <translation>Indique el usuario.</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Saving the password to the keychain...</source>
        <translation>Guardando la contraseña en el llavero...</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Open again to use the password without keeping it.</source>
        <translation>Vuelva a abrir para usar la contraseña sin guardarla.</translation>
    </message>
</context>
<context>
    <name>kvdesk::DisplayFormat</name>
    <message>
        <location filename="../ui/displayformat.cpp" line="+15"/>
        <source>1 key</source>
        <translation>1 clave</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 keys</source>
        <translation>%1 claves</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>expired</source>
        <translation>caducada</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 min %2 s</source>
        <translation>%1 min %2 s</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1 d %2 h</source>
        <translation>%1 d %2 h</translation>
    </message>
</context>
<context>
    <name>kvdesk::Exporter</name>
    <message>
        <location filename="../server/transfer/exporter.cpp" line="+79"/>
        <source>cannot write: %1</source>
        <translation>no se puede escribir: %1</translation>
    </message>
</context>
<context>
    <name>kvdesk::Importer</name>
    <message>
        <location filename="../server/transfer/importer.cpp" line="+25"/>
        <source>%1 records: %2 created, %3 overwritten, %4 unchanged, %5 skipped, %6 expired, %7 invalid</source>
        <translation>%1 registros: %2 creados, %3 sobrescritos, %4 sin cambios, %5 omitidos, %6 caducados, %7 no válidos</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>; first bad record at line %1: %2</source>
        <translation>; primer registro erróneo en la línea %1: %2</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>; stopped: %1</source>
        <translation>; detenido: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>; cancelled</source>
        <translation>; cancelado</translation>
    </message>
    <message>
        <location line="+131"/>
        <source>line %1: %2</source>
        <translation>línea %1: %2</translation>
    </message>
</context>
<context>
    <name>kvdesk::JsonScanner</name>
    <message>
        <location filename="../server/util/jsonscanner.cpp" line="+60"/>
        <source>nested too deeply</source>
        <translation>anidamiento demasiado profundo</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>unexpected end of input</source>
        <translation>fin inesperado de la entrada</translation>
    </message>
    <message>
        <location line="+19"/>
        <location line="+77"/>
        <source>unexpected character</source>
        <translation>carácter inesperado</translation>
    </message>
    <message>
        <location line="-61"/>
        <source>expected a member name in double quotes</source>
        <translation>se esperaba un nombre de miembro entre comillas dobles</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>expected &apos;:&apos; after a member name</source>
        <translation>se esperaba «:» tras un nombre de miembro</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>expected &apos;,&apos; or &apos;}&apos; in an object</source>
        <translation>se esperaba «,» o «}» en un objeto</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>expected &apos;,&apos; or &apos;]&apos; in an array</source>
        <translation>se esperaba «,» o «]» en un array</translation>
    </message>
    <message>
        <location line="+19"/>
        <location line="+15"/>
        <source>malformed number</source>
        <translation>número mal formado</translation>
    </message>
    <message>
        <location line="+49"/>
        <location line="+4"/>
        <location line="+5"/>
        <location line="+7"/>
        <source>invalid UTF-8</source>
        <translation>UTF-8 no válido</translation>
    </message>
    <message>
        <location line="+35"/>
        <location line="+32"/>
        <source>unterminated string</source>
        <translation>cadena sin terminar</translation>
    </message>
    <message>
        <location line="-23"/>
        <source>control character in a string</source>
        <translation>carácter de control en una cadena</translation>
    </message>
    <message>
        <location line="+55"/>
        <location line="+7"/>
        <source>invalid \u escape</source>
        <translation>secuencia \u no válida</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>invalid escape in a string</source>
        <translation>secuencia de escape no válida en una cadena</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>unexpected text after the JSON value</source>
        <translation>texto inesperado tras el valor JSON</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>%1 at line %2, column %3</source>
        <translation>%1 en la línea %2, columna %3</translation>
    </message>
</context>
<context>
    <name>kvdesk::JsonText</name>
    <message>
        <location filename="../ui/jsontext.cpp" line="+91"/>
        <source>number</source>
        <translation>número</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>object</source>
        <translation>objeto</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>array</source>
        <translation>array</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>string</source>
        <translation>cadena</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>boolean</source>
        <translation>booleano</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>null</source>
        <translation>null</translation>
    </message>
</context>
<context>
    <name>kvdesk::KeyActions</name>
    <message>
        <location filename="../ui/keyactions.cpp" line="+60"/>
        <source>&amp;New Key...</source>
        <translation>&amp;Nueva clave...</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Save Value</source>
        <translation>&amp;Guardar valor</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Re&amp;vert Value</source>
        <translation>Re&amp;vertir valor</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Delete...</source>
        <translation>&amp;Eliminar...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Set &amp;TTL...</source>
        <translation>Establecer &amp;TTL...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>C&amp;lear TTL</source>
        <translation>&amp;Quitar TTL</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>E&amp;xpire Now</source>
        <translation>Cadu&amp;car ahora</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Rename...</source>
        <translation>&amp;Renombrar...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>D&amp;uplicate...</source>
        <translation>D&amp;uplicar...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Copy &amp;Key</source>
        <translation>Copiar &amp;clave</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Copy V&amp;alue</source>
        <translation>Copiar v&amp;alor</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Copy as &amp;curl</source>
        <translation>Copiar como c&amp;url</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+56"/>
        <source>&amp;Undo</source>
        <translation>&amp;Deshacer</translation>
    </message>
    <message>
        <location line="-54"/>
        <source>Re&amp;fresh</source>
        <translation>Actuali&amp;zar</translation>
    </message>
    <message>
        <location line="+54"/>
        <source>&amp;Undo %1</source>
        <translation>&amp;Deshacer %1</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>KV Desk</source>
        <translation>KV Desk</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Cannot read the keys: %1</source>
        <translation>No se pueden leer las claves: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>That is %1 keys; the window changes at most %2 at once. Narrow the selection.</source>
        <translation>Son %1 claves; la ventana cambia como mucho %2 a la vez. Reduzca la selección.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Those keys do not exist any more.</source>
        <translation>Esas claves ya no existen.</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>The database refused the change: %1</source>
        <translation>La base de datos rechazó el cambio: %1</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Created %1</source>
        <translation>Se creó %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A key named %1 exists already.</source>
        <translation>Ya existe una clave llamada %1.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>create %1</source>
        <translation>creación de %1</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>The value is not valid JSON; fix it before saving.</source>
        <translation>El valor no es JSON válido; corríjalo antes de guardar.</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Cannot save %1: %2</source>
        <translation>No se puede guardar %1: %2</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>edit of %1</source>
        <translation>edición de %1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Saved %1</source>
        <translation>Se guardó %1</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Took the stored version of %1</source>
        <translation>Se tomó la versión guardada de %1</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Delete the key %1?</source>
        <translation>¿Eliminar la clave %1?</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Delete %1?</source>
        <translation>¿Eliminar %1?</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>This includes everything in %1.</source>
        <translation>Esto incluye todo lo que hay en %1.</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+3"/>
        <source>Delete</source>
        <translation>Eliminar</translation>
    </message>
    <message>
        <location line="-1"/>
        <source>You can undo this with Edit &gt; Undo.</source>
        <translation>Puede deshacerlo con Editar &gt; Deshacer.</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Deleted %1</source>
        <translation>Se eliminó %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The keys changed meanwhile; nothing was deleted.</source>
        <translation>Las claves cambiaron mientras tanto; no se eliminó nada.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>delete of %1</source>
        <translation>eliminación de %1</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Set TTL</source>
        <translation>Establecer TTL</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Expire after how many seconds?</source>
        <translation>¿Caducar tras cuántos segundos?</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Expired %1</source>
        <translation>%1 caducó</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 now expires in %2</source>
        <translation>%1 caduca ahora en %2</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 never expires now</source>
        <translation>%1 ya no caduca nunca</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The keys changed meanwhile; nothing was changed. Try again.</source>
        <translation>Las claves cambiaron mientras tanto; no se cambió nada. Inténtelo de nuevo.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>expiry of %1</source>
        <translation>caducidad de %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>TTL change of %1</source>
        <translation>cambio de TTL de %1</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Duplicate</source>
        <translation>Duplicar</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Rename</source>
        <translation>Renombrar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New name of the folder %1:</source>
        <translation>Nombre nuevo de la carpeta %1:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New name of the key %1:</source>
        <translation>Nombre nuevo de la clave %1:</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+1"/>
        <source>-copy</source>
        <translation>-copia</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>%1 would be longer than 512 bytes.</source>
        <translation>%1 superaría los 512 bytes.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Duplicated %1 as %2</source>
        <translation>Se duplicó %1 como %2</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Renamed %1 to %2</source>
        <translation>Se renombró %1 como %2</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 exists already, or the keys changed meanwhile; nothing was changed.</source>
        <translation>%1 ya existe, o las claves cambiaron mientras tanto; no se cambió nada.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>duplicate of %1</source>
        <translation>duplicación de %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>rename of %1</source>
        <translation>renombrado de %1</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Copied the key name</source>
        <translation>Se copió el nombre de la clave</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Copied %1 key names</source>
        <translation>Se copiaron %1 nombres de claves</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>%1 does not exist any more.</source>
        <translation>%1 ya no existe.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copied the value of %1</source>
        <translation>Se copió el valor de %1</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>The server is not listening; start it in the server panel first.</source>
        <translation>El servidor no está escuchando; inícielo primero en el panel del servidor.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copied a curl command that reads %1</source>
        <translation>Se copió una orden curl que lee %1</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Undid the %1</source>
        <translation>Deshecho: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cannot undo the %1: the keys changed since.</source>
        <translation>No se puede deshacer (%1): las claves cambiaron desde entonces.</translation>
    </message>
</context>
<context>
    <name>kvdesk::KeyModel</name>
    <message>
        <location filename="../ui/keymodel.cpp" line="+300"/>
        <source>Key</source>
        <translation>Clave</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Size</source>
        <translation>Tamaño</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Expires in</source>
        <translation>Caduca en</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Updated</source>
        <translation>Actualizada</translation>
    </message>
</context>
<context>
    <name>kvdesk::KvController</name>
    <message>
        <location filename="../server/http/kvcontroller.cpp" line="+74"/>
        <source>The key has a bad percent-escape: %1</source>
        <translation>La clave tiene un escape porcentual erróneo: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+50"/>
        <source>The key is empty</source>
        <translation>La clave está vacía</translation>
    </message>
    <message>
        <location line="-47"/>
        <source>The key is %1 bytes long; at most %2 bytes are allowed</source>
        <translation>La clave mide %1 bytes; se permiten como mucho %2 bytes</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The key is not valid UTF-8</source>
        <translation>La clave no es UTF-8 válido</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>If-Match and If-None-Match cannot be combined</source>
        <translation>If-Match e If-None-Match no se pueden combinar</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>If-None-Match on a write supports only &quot;*&quot; (create if absent)</source>
        <translation>If-None-Match en una escritura solo admite &quot;*&quot; (crear si no existe)</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Precondition failed: the key has changed or does not exist</source>
        <translation>Precondición fallida: la clave cambió o no existe</translation>
    </message>
    <message>
        <location line="+83"/>
        <source>The body is empty; send a JSON object {&quot;value&quot;: ..., &quot;ttl&quot;?: seconds}</source>
        <translation>El cuerpo está vacío; envíe un objeto JSON {&quot;value&quot;: ..., &quot;ttl&quot;?: segundos}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The body is not a JSON object: %1</source>
        <translation>El cuerpo no es un objeto JSON: %1</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>value must not be null</source>
        <translation>value no debe ser null</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>value is required</source>
        <translation>value es obligatorio</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The value is %1 bytes of JSON; at most %2 bytes are allowed</source>
        <translation>El valor mide %1 bytes de JSON; se permiten como mucho %2 bytes</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>ttl must be a whole number of seconds, at least 1 (or null for no expiry)</source>
        <translation>ttl debe ser un número entero de segundos, al menos 1 (o null para que no caduque)</translation>
    </message>
    <message>
        <location line="+43"/>
        <source>cursor is not one this server returned</source>
        <translation>cursor no es uno que haya devuelto este servidor</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>limit must be a whole number from 1 to %1</source>
        <translation>limit debe ser un número entero de 1 a %1</translation>
    </message>
</context>
<context>
    <name>kvdesk::KvServer</name>
    <message>
        <location filename="../server/kvserver.cpp" line="+89"/>
        <source>cannot listen on &quot;%1&quot;: not an IP address</source>
        <translation>no se puede escuchar en «%1»: no es una dirección IP</translation>
    </message>
    <message>
        <location line="+19"/>
        <location line="+23"/>
        <source>cannot listen on %1 port %2: %3</source>
        <translation>no se puede escuchar en %1 puerto %2: %3</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>cannot start the server: %1</source>
        <translation>no se puede iniciar el servidor: %1</translation>
    </message>
</context>
<context>
    <name>kvdesk::MainWindow</name>
    <message>
        <location filename="../ui/mainwindow.cpp" line="+48"/>
        <source>KV Desk</source>
        <translation>KV Desk</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Filter keys (Ctrl+F)</source>
        <translation>Filtrar claves (Ctrl+F)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Contains</source>
        <translation>Contiene</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Starts with</source>
        <translation>Empieza por</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>Server</source>
        <translation>Servidor</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Loading...</source>
        <translation>Cargando...</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Cannot read the store: %1</source>
        <translation>No se puede leer el almacén: %1</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>&amp;Quit</source>
        <translation>&amp;Salir</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Find Keys</source>
        <translation>&amp;Buscar claves</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>&amp;Flat List</source>
        <translation>Lista &amp;plana</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>&amp;Start or Stop the Server</source>
        <translation>&amp;Iniciar o detener el servidor</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copy Server &amp;URL</source>
        <translation>Copiar la &amp;URL del servidor</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Credentials...</source>
        <translation>&amp;Credenciales...</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copy the API &amp;Key</source>
        <translation>Copiar la &amp;clave de API</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Export Keys...</source>
        <translation>&amp;Exportar claves...</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Import Keys...</source>
        <translation>&amp;Importar claves...</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Open &amp;PostgreSQL Database...</source>
        <translation>Abrir una base de datos &amp;PostgreSQL...</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;About KV Desk</source>
        <translation>&amp;Acerca de KV Desk</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>About KV Desk</source>
        <translation>Acerca de KV Desk</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&lt;b&gt;KV Desk %1&lt;/b&gt;&lt;br&gt;A JSON key/value server and desktop admin app.&lt;p&gt;Free software under the MIT License. Built with Qt %2.&lt;/p&gt;</source>
        <translation>&lt;b&gt;KV Desk %1&lt;/b&gt;&lt;br&gt;Un servidor clave/valor JSON con aplicación de administración de escritorio.&lt;p&gt;Software libre bajo la licencia MIT. Compilado con Qt %2.&lt;/p&gt;</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;File</source>
        <translation>&amp;Archivo</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>&amp;Edit</source>
        <translation>&amp;Editar</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>&amp;View</source>
        <translation>&amp;Ver</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>&amp;Server</source>
        <translation>&amp;Servidor</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;Help</source>
        <translation>A&amp;yuda</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Main</source>
        <translation>Principal</translation>
    </message>
    <message>
        <location line="+61"/>
        <source>Counting keys...</source>
        <translation>Contando claves...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 keys</source>
        <translation>%1 claves</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 of %2 keys match</source>
        <translation>%1 de %2 claves coinciden</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Save (Ctrl+S) or revert your changes to “%1” before opening another key.</source>
        <translation>Guarde (Ctrl+S) o revierta sus cambios en «%1» antes de abrir otra clave.</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Cannot read “%1”: %2</source>
        <translation>No se puede leer «%1»: %2</translation>
    </message>
    <message>
        <location line="+68"/>
        <source>Unsaved changes</source>
        <translation>Cambios sin guardar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The value of “%1” has unsaved changes. Discard them?</source>
        <translation>El valor de «%1» tiene cambios sin guardar. ¿Descartarlos?</translation>
    </message>
</context>
<context>
    <name>kvdesk::NewKeyDialog</name>
    <message>
        <location filename="../ui/newkeydialog.cpp" line="+22"/>
        <source>New Key</source>
        <translation>Nueva clave</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>for example users/42</source>
        <translation>por ejemplo users/42</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Any JSON value, for example {&quot;name&quot;: &quot;Ada&quot;}</source>
        <translation>Cualquier valor JSON, por ejemplo {&quot;name&quot;: &quot;Ada&quot;}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>never expires</source>
        <translation>no caduca nunca</translation>
    </message>
    <message>
        <location line="+1"/>
        <source> s</source>
        <translation> s</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Create</source>
        <translation>Crear</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Key:</source>
        <translation>&amp;Clave:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Value:</source>
        <translation>&amp;Valor:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Expires after:</source>
        <translation>&amp;Caduca tras:</translation>
    </message>
    <message>
        <location line="+35"/>
        <source>Type a key.</source>
        <translation>Escriba una clave.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A key is at most 512 bytes long (this one is %1).</source>
        <translation>Una clave mide como mucho 512 bytes (esta mide %1).</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Type a JSON value.</source>
        <translation>Escriba un valor JSON.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Line %1, column %2: %3</source>
        <translation>Línea %1, columna %2: %3</translation>
    </message>
</context>
<context>
    <name>kvdesk::PercentCodec</name>
    <message>
        <location filename="../server/http/percentcodec.cpp" line="+36"/>
        <source>incomplete percent-escape at the end</source>
        <translation>escape porcentual incompleto al final</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>invalid percent-escape &quot;%1&quot;</source>
        <translation>escape porcentual no válido «%1»</translation>
    </message>
    <message>
        <location line="+68"/>
        <source>the query string is not valid UTF-8</source>
        <translation>la cadena de consulta no es UTF-8 válido</translation>
    </message>
</context>
<context>
    <name>kvdesk::RateChart</name>
    <message>
        <location filename="../ui/ratechart.cpp" line="+67"/>
        <source>last 5 min · peak %1 req/s · last minute: %2 req/s, %3% errors</source>
        <translation>últimos 5 min · pico %1 sol./s · último minuto: %2 sol./s, %3 % de errores</translation>
    </message>
</context>
<context>
    <name>kvdesk::RecordReader</name>
    <message>
        <location filename="../server/transfer/recordreader.cpp" line="+32"/>
        <source>the key is empty</source>
        <translation>la clave está vacía</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>the key is longer than 512 bytes</source>
        <translation>la clave supera los 512 bytes</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>the key is not valid UTF-8</source>
        <translation>la clave no es UTF-8 válido</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>the input ends inside a value</source>
        <translation>la entrada termina dentro de un valor</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>a value is larger than 64 MiB</source>
        <translation>un valor supera los 64 MiB</translation>
    </message>
    <message>
        <location line="+55"/>
        <source>the input is neither NDJSON, a JSON array nor a JSON object</source>
        <translation>la entrada no es NDJSON, ni un array JSON ni un objeto JSON</translation>
    </message>
    <message>
        <location line="+33"/>
        <source>not a JSON object: %1</source>
        <translation>no es un objeto JSON: %1</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>&quot;%1&quot; must be a positive number of seconds</source>
        <translation>«%1» debe ser un número positivo de segundos</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&quot;key&quot; is missing or not a string</source>
        <translation>«key» falta o no es una cadena</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&quot;value&quot; is missing</source>
        <translation>falta «value»</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&quot;value&quot; must be a string in this format</source>
        <translation>«value» debe ser una cadena en este formato</translation>
    </message>
    <message>
        <location line="+42"/>
        <source>a line is longer than 64 MiB</source>
        <translation>una línea supera los 64 MiB</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>unexpected text after the end of the dump</source>
        <translation>texto inesperado tras el final del volcado</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>expected &apos;,&apos; or &apos;%1&apos;</source>
        <translation>se esperaba «,» o «%1»</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>expected a member name and &apos;:&apos;</source>
        <translation>se esperaba un nombre de miembro y «:»</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>the value is not valid JSON: %1</source>
        <translation>el valor no es JSON válido: %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>the value is null (delete the key instead)</source>
        <translation>el valor es null (elimine la clave en su lugar)</translation>
    </message>
</context>
<context>
    <name>kvdesk::RequestLogModel</name>
    <message>
        <location filename="../ui/requestlogmodel.cpp" line="+77"/>
        <source>%1 ms</source>
        <translation>%1 ms</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Time</source>
        <translation>Hora</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Client</source>
        <translation>Cliente</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Method</source>
        <translation>Método</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Path</source>
        <translation>Ruta</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Status</source>
        <translation>Estado</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Latency</source>
        <translation>Latencia</translation>
    </message>
</context>
<context>
    <name>kvdesk::ServerPanel</name>
    <message>
        <location filename="../ui/serverpanel.cpp" line="+55"/>
        <source>Copy the URL</source>
        <translation>Copiar la URL</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>any free port</source>
        <translation>cualquier puerto libre</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Apply</source>
        <translation>Aplicar</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Restart the listener on this host and port</source>
        <translation>Reiniciar la escucha en esta dirección y puerto</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Credentials...</source>
        <translation>Credenciales...</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Copy the API key</source>
        <translation>Copiar la clave de API</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>URL:</source>
        <translation>URL:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>State:</source>
        <translation>Estado:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Listen on:</source>
        <translation>Escuchar en:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keys:</source>
        <translation>Claves:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Database:</source>
        <translation>Base de datos:</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Authentication:</source>
        <translation>Autenticación:</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Filter the request log (method, path, status, client)</source>
        <translation>Filtrar el registro de solicitudes (método, ruta, estado, cliente)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Clear</source>
        <translation>Vaciar</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>counting...</source>
        <translation>contando...</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>%1 (%2, SQLite)</source>
        <translation>%1 (%2, SQLite)</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>not listening</source>
        <translation>no está escuchando</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Running</source>
        <translation>En marcha</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Stopped</source>
        <translation>Detenido</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Stop</source>
        <translation>Detener</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Start</source>
        <translation>Iniciar</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>API key %1…: send &quot;Authorization: Bearer &lt;key&gt;&quot; (the copy button copies it; Copy as curl includes it)</source>
        <translation>Clave de API %1…: envíe &quot;Authorization: Bearer &lt;key&gt;&quot; (el botón de copiar la copia; «Copiar como curl» la incluye)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Basic: user &quot;%1&quot;</source>
        <translation>Basic: usuario «%1»</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>JWT: send &quot;Authorization: Bearer &lt;jwt&gt;&quot;</source>
        <translation>JWT: envíe &quot;Authorization: Bearer &lt;jwt&gt;&quot;</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No credentials are set: every kv and admin request is answered 401.</source>
        <translation>No hay credenciales: toda solicitud kv y de administración recibe un 401.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The server stopped listening.</source>
        <translation>El servidor dejó de escuchar.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Listening on %1</source>
        <translation>Escuchando en %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The server cannot start: %1</source>
        <translation>El servidor no puede iniciarse: %1</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Copied %1</source>
        <translation>Se copió %1</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Generated an API key and kept it in the keychain.</source>
        <translation>Se generó una clave de API y se guardó en el llavero.</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>These credentials are kept for this session only (no keychain in use).</source>
        <translation>Estas credenciales valen solo para esta sesión (no se usa ningún llavero).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Saving to the keychain...</source>
        <translation>Guardando en el llavero...</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>%1 The credentials work for this session only; they are not kept for the next start.</source>
        <translation>%1 Las credenciales valen solo para esta sesión; no se conservan para el próximo inicio.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Saved to the OS keychain and applied to the running server at once. Environment variables (KV_API_KEY, ...) win over these at the next start.</source>
        <translation>Guardadas en el llavero del sistema y aplicadas al momento al servidor en marcha. Las variables de entorno (KV_API_KEY, ...) tienen prioridad sobre ellas en el próximo inicio.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No keychain is in use: these apply to this session only.</source>
        <translation>No se usa ningún llavero: estas valen solo para esta sesión.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Saved the credentials to the keychain; the server uses them now.</source>
        <translation>Se guardaron las credenciales en el llavero; el servidor ya las usa.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>No API key is set; open Credentials to generate one.</source>
        <translation>No hay clave de API; abra Credenciales para generar una.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copied the API key</source>
        <translation>Se copió la clave de API</translation>
    </message>
</context>
<context>
    <name>kvdesk::Store</name>
    <message>
        <location filename="../server/store/postgresconnection.cpp" line="+125"/>
        <source>The PostgreSQL driver of Qt is not installed (package libqt6sql6-psql)</source>
        <translation>El controlador PostgreSQL de Qt no está instalado (paquete libqt6sql6-psql)</translation>
    </message>
    <message>
        <location line="+13"/>
        <location line="+42"/>
        <source>Cannot connect to the database %1: %2</source>
        <translation>No se puede conectar a la base de datos %1: %2</translation>
    </message>
    <message>
        <location line="-11"/>
        <source>The database %1 cannot be reached; try again shortly</source>
        <translation>La base de datos %1 no está accesible; inténtelo de nuevo en un momento</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>the connection is closed</source>
        <translation>la conexión está cerrada</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The database %1 cannot be reached: %2</source>
        <translation>La base de datos %1 no está accesible: %2</translation>
    </message>
    <message>
        <location filename="../server/store/postgresbrowser.cpp" line="+72"/>
        <location line="+75"/>
        <location line="+14"/>
        <location filename="../server/store/postgresconnection.cpp" line="+1"/>
        <location filename="../server/store/sqliteconnection.cpp" line="+205"/>
        <location line="+22"/>
        <location filename="../server/store/sqlitestatement.h" line="+58"/>
        <location filename="../server/store/store.cpp" line="+178"/>
        <source>Database error: %1</source>
        <translation>Error de la base de datos: %1</translation>
    </message>
    <message>
        <location filename="../server/store/store.cpp" line="-69"/>
        <source>The database %1 does not exist</source>
        <translation>La base de datos %1 no existe</translation>
    </message>
    <message>
        <location line="+4"/>
        <location line="+57"/>
        <source>The database %1 needs migrations (%2); start kvdesk on it once first</source>
        <translation>La base de datos %1 necesita migraciones (%2); inicie kvdesk sobre ella una vez primero</translation>
    </message>
    <message>
        <location line="-51"/>
        <source>Cannot create the folder %1</source>
        <translation>No se puede crear la carpeta %1</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The database %1 is in use by another kvdesk process (pid %2)</source>
        <translation>La base de datos %1 la usa otro proceso kvdesk (pid %2)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Cannot switch %1 to WAL mode: %2</source>
        <translation>No se puede pasar %1 al modo WAL: %2</translation>
    </message>
    <message>
        <location filename="../server/store/sqliteconnection.cpp" line="-141"/>
        <location filename="../server/store/storebrowser.cpp" line="+61"/>
        <source>Cannot prepare a statement: %1</source>
        <translation>No se puede preparar una sentencia: %1</translation>
    </message>
    <message>
        <location filename="../server/store/storebrowser.cpp" line="+65"/>
        <source>The database schema is out of date</source>
        <translation>El esquema de la base de datos está desactualizado</translation>
    </message>
    <message>
        <location filename="../server/store/sqliteconnection.cpp" line="+27"/>
        <source>Cannot open the database %1: %2</source>
        <translation>No se puede abrir la base de datos %1: %2</translation>
    </message>
    <message>
        <location filename="../server/store/postgresconnection.cpp" line="+40"/>
        <location filename="../server/store/sqliteconnection.cpp" line="+25"/>
        <source>The database schema is out of date; run the pending migrations (POST {admin}/migrate)</source>
        <translation>El esquema de la base de datos está desactualizado; ejecute las migraciones pendientes (POST {admin}/migrate)</translation>
    </message>
    <message>
        <location filename="../server/store/postgresoptions.cpp" line="+31"/>
        <source>the PostgreSQL URL is not valid (postgres://user:password@host:port/database)</source>
        <translation>la URL de PostgreSQL no es válida (postgres://usuario:contraseña@host:puerto/base)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>the PostgreSQL URL names no database (postgres://user:password@host:port/database)</source>
        <translation>la URL de PostgreSQL no indica ninguna base de datos (postgres://usuario:contraseña@host:puerto/base)</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>the PostgreSQL URL has an unusable option &quot;%1&quot;</source>
        <translation>la URL de PostgreSQL tiene una opción inutilizable «%1»</translation>
    </message>
</context>
<context>
    <name>kvdesk::StoreService</name>
    <message>
        <location filename="../ui/storeservice.cpp" line="+63"/>
        <source>The store is closed.</source>
        <translation>El almacén está cerrado.</translation>
    </message>
</context>
<context>
    <name>kvdesk::TransferCommand</name>
    <message>
        <location filename="../server/commands/transfercommand.cpp" line="+41"/>
        <source>Writes the keys (all, or those under a prefix) to FILE, or to standard output.
Formats: ndjson (one {&quot;key&quot;,&quot;value&quot;,&quot;expiration&quot;} per line, the default), wrangler (the JSON array `wrangler kv bulk put` reads; values as strings), json ({&quot;key&quot;: value}, without TTLs).</source>
        <translation>Escribe las claves (todas, o las que están bajo un prefijo) en ARCHIVO, o en la salida estándar.
Formatos: ndjson (un {&quot;key&quot;,&quot;value&quot;,&quot;expiration&quot;} por línea, el predeterminado), wrangler (el array JSON que lee `wrangler kv bulk put`; valores como cadenas), json ({&quot;key&quot;: value}, sin TTL).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Reads keys from FILE (&quot;-&quot;: standard input): NDJSON, a wrangler bulk array or a JSON object, recognised from the content. One transaction per 1,000 keys; bad records are reported and skipped. Stop the server on that database first, or use POST {admin}/import.</source>
        <translation>Lee claves de ARCHIVO (&quot;-&quot;: entrada estándar): NDJSON, un array bulk de wrangler o un objeto JSON, reconocido por el contenido. Una transacción por cada 1.000 claves; los registros erróneos se notifican y se omiten. Detenga primero el servidor sobre esa base de datos, o use POST {admin}/import.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>The database (default: KV_DB, then the default path).</source>
        <translation>La base de datos (predeterminada: KV_DB, luego la ruta predeterminada).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>path</source>
        <translation>ruta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Only keys that start with this.</source>
        <translation>Solo las claves que empiezan por esto.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>prefix</source>
        <translation>prefijo</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ndjson, wrangler or json.</source>
        <translation>ndjson, wrangler o json.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>format</source>
        <translation>formato</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Report what would change; write nothing.</source>
        <translation>Informar de lo que cambiaría; no escribir nada.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>What to do with keys that exist: overwrite (default) or skip.</source>
        <translation>Qué hacer con las claves existentes: overwrite (predeterminado) o skip.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>policy</source>
        <translation>política</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Where to write (default: standard output).</source>
        <translation>Dónde escribir (predeterminado: la salida estándar).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The dump to read.</source>
        <translation>El volcado que leer.</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>kvdesk export: at most one FILE
</source>
        <translation>kvdesk export: como mucho un ARCHIVO
</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>kvdesk import: name one FILE
</source>
        <translation>kvdesk import: indique un ARCHIVO
</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>kvdesk export: --format is ndjson, wrangler or json, not &quot;%1&quot;
</source>
        <translation>kvdesk export: --format es ndjson, wrangler o json, no «%1»
</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>kvdesk export: cannot write %1: %2
</source>
        <translation>kvdesk export: no se puede escribir %1: %2
</translation>
    </message>
    <message>
        <location line="+15"/>
        <location line="+6"/>
        <source>kvdesk export: %1
</source>
        <translation>kvdesk export: %1
</translation>
    </message>
    <message>
        <location line="-3"/>
        <source>Exported %1 keys (%2 bytes).
</source>
        <translation>Se exportaron %1 claves (%2 bytes).
</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>kvdesk import: --on-conflict is skip or overwrite, not &quot;%1&quot;
</source>
        <translation>kvdesk import: --on-conflict es skip u overwrite, no «%1»
</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>kvdesk import: cannot read %1: %2
</source>
        <translation>kvdesk import: no se puede leer %1: %2
</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Dry run (nothing written): %1
</source>
        <translation>Simulación (no se escribió nada): %1
</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Imported: %1
</source>
        <translation>Importado: %1
</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>kvdesk import: %1
</source>
        <translation>kvdesk import: %1
</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Stop that server first, or import through it: POST {admin}/import, or File &gt; Import Keys in its window.
</source>
        <translation>Detenga primero ese servidor, o importe a través de él: POST {admin}/import, o Archivo &gt; Importar claves en su ventana.
</translation>
    </message>
</context>
<context>
    <name>kvdesk::TransferDialog</name>
    <message>
        <location filename="../ui/transferdialog.cpp" line="+31"/>
        <location line="+94"/>
        <source>Import Keys</source>
        <translation>Importar claves</translation>
    </message>
    <message>
        <location line="-94"/>
        <location line="+96"/>
        <source>Export Keys</source>
        <translation>Exportar claves</translation>
    </message>
    <message>
        <location line="-93"/>
        <source>Browse...</source>
        <translation>Examinar...</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;File:</source>
        <translation>&amp;Archivo:</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Overwrite existing keys</source>
        <translation>Sobrescribir las claves existentes</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keep existing keys (skip)</source>
        <translation>Conservar las claves existentes (omitir)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Existing keys:</source>
        <translation>Claves existentes:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>NDJSON, a wrangler bulk array or a {&quot;key&quot;: value} object, recognised from the content.</source>
        <translation>NDJSON, un array bulk de wrangler o un objeto {&quot;key&quot;: value}, reconocido por el contenido.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>every key</source>
        <translation>todas las claves</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>NDJSON (one key per line, with TTLs)</source>
        <translation>NDJSON (una clave por línea, con TTL)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>wrangler kv bulk put (JSON array, values as strings)</source>
        <translation>wrangler kv bulk put (array JSON, valores como cadenas)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>JSON object {&quot;key&quot;: value} (no TTLs)</source>
        <translation>Objeto JSON {&quot;key&quot;: value} (sin TTL)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keys starting with:</source>
        <translation>Claves que empiezan por:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>F&amp;ormat:</source>
        <translation>F&amp;ormato:</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>&amp;Dry Run</source>
        <translation>&amp;Simulación</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Import</source>
        <translation>&amp;Importar</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Export</source>
        <translation>&amp;Exportar</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>Dumps (*.ndjson *.json *.jsonl);;All files (*)</source>
        <translation>Volcados (*.ndjson *.json *.jsonl);;Todos los archivos (*)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Dumps (*.ndjson *.json);;All files (*)</source>
        <translation>Volcados (*.ndjson *.json);;Todos los archivos (*)</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Choose a file first.</source>
        <translation>Elija primero un archivo.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The store is closed.</source>
        <translation>El almacén está cerrado.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Cannot read %1: %2</source>
        <translation>No se puede leer %1: %2</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Cannot write %1: %2</source>
        <translation>No se puede escribir %1: %2</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Trying...</source>
        <translation>Probando...</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Importing...</source>
        <translation>Importando...</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exporting...</source>
        <translation>Exportando...</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Failed: %1</source>
        <translation>Error: %1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Failed after %1 keys: %2</source>
        <translation>Error tras %1 claves: %2</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cancelled after %1 keys; the file is incomplete.</source>
        <translation>Cancelado tras %1 claves; el archivo está incompleto.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exported %1 keys (%2 bytes) to %3.</source>
        <translation>Se exportaron %1 claves (%2 bytes) a %3.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Dry run, nothing was written: %1</source>
        <translation>Simulación, no se escribió nada: %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Imported: %1</source>
        <translation>Importado: %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>create</source>
        <translation>crear</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>overwrite</source>
        <translation>sobrescribir</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>unchanged</source>
        <translation>sin cambios</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>skip</source>
        <translation>omitir</translation>
    </message>
</context>
<context>
    <name>kvdesk::ValueEditor</name>
    <message>
        <location filename="../ui/valueeditor.cpp" line="+46"/>
        <source>&amp;Save</source>
        <translation>&amp;Guardar</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Save the value (Ctrl+S)</source>
        <translation>Guardar el valor (Ctrl+S)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Re&amp;vert</source>
        <translation>Re&amp;vertir</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Select a key to see its value.</source>
        <translation>Seleccione una clave para ver su valor.</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>This key does not exist (any more). Type a value and save to create it.</source>
        <translation>Esta clave no existe (o ya no existe). Escriba un valor y guarde para crearla.</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>This value was just changed elsewhere; showing the new value.</source>
        <translation>Este valor acaba de cambiar en otro lugar; se muestra el valor nuevo.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This key was just deleted or expired elsewhere.</source>
        <translation>Esta clave acaba de eliminarse o caducar en otro lugar.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>This key was changed elsewhere since you opened it. Saving will ask which version to keep.</source>
        <translation>Esta clave cambió en otro lugar desde que la abrió. Al guardar se le preguntará qué versión conservar.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>This key was deleted elsewhere since you opened it. Saving will create it again.</source>
        <translation>Esta clave se eliminó en otro lugar desde que la abrió. Al guardar se volverá a crear.</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>Valid JSON: %1, %2</source>
        <translation>JSON válido: %1, %2</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Line %1, column %2: %3</source>
        <translation>Línea %1, columna %2: %3</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>No key selected</source>
        <translation>Ninguna clave seleccionada</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>New key (not saved yet)</source>
        <translation>Clave nueva (aún sin guardar)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>expires in %1</source>
        <translation>caduca en %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>never expires</source>
        <translation>no caduca nunca</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 · %2 · %3 · updated %4</source>
        <translation>%1 · %2 · %3 · actualizada %4</translation>
    </message>
</context>
<context>
    <name>main</name>
    <message>
        <location filename="../server/launch.cpp" line="+98"/>
        <source>Shutting down...
</source>
        <translation>Cerrando...
</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>KV Desk %1 listening on %2
</source>
        <translation>KV Desk %1 escuchando en %2
</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Database: %1
</source>
        <translation>Base de datos: %1
</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No credentials are configured, so every kv and admin request is answered 401.
Set one, for example:  KV_API_KEY=$(openssl rand -hex 32) kvdesk --no-gui
</source>
        <translation>No hay credenciales configuradas, así que toda solicitud kv y de administración recibe un 401.
Establezca una, por ejemplo:  KV_API_KEY=$(openssl rand -hex 32) kvdesk --no-gui
</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Authenticate with the API key made for you at this first launch: the window&apos;s server panel copies it (Server &gt; Copy the API Key, Ctrl+Shift+Y):
  curl -H &quot;Authorization: Bearer &lt;key&gt;&quot; %1/hello
</source>
        <translation>Autentíquese con la clave de API creada para usted en este primer inicio: el panel del servidor de la ventana la copia (Servidor &gt; Copiar la clave de API, Ctrl+Mayús+Y):
  curl -H &quot;Authorization: Bearer &lt;key&gt;&quot; %1/hello
</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Authenticate with the API key kept in the OS keychain (`kvdesk credentials show` prints it):
  curl -H &quot;Authorization: Bearer &lt;key&gt;&quot; %1/hello
</source>
        <translation>Autentíquese con la clave de API guardada en el llavero del sistema (`kvdesk credentials show` la muestra):
  curl -H &quot;Authorization: Bearer &lt;key&gt;&quot; %1/hello
</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Authenticate with the API key from %1:
  curl -H &quot;Authorization: Bearer $%1&quot; %2/hello
</source>
        <translation>Autentíquese con la clave de API de %1:
  curl -H &quot;Authorization: Bearer $%1&quot; %2/hello
</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Authenticate with the Basic credentials kept in the OS keychain (user &quot;%1&quot;).
</source>
        <translation>Autentíquese con las credenciales Basic guardadas en el llavero del sistema (usuario «%1»).
</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Authenticate with Basic credentials from %1 and %2:
  curl -u &quot;$%1:$%2&quot; %3/hello
</source>
        <translation>Autentíquese con las credenciales Basic de %1 y %2:
  curl -u &quot;$%1:$%2&quot; %3/hello
</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Authenticate with a JWT signed with the secret kept in the OS keychain.
</source>
        <translation>Autentíquese con un JWT firmado con el secreto guardado en el llavero del sistema.
</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Authenticate with a JWT signed with %1 (HS256/384/512), sent as &quot;Authorization: Bearer &lt;jwt&gt;&quot;.
</source>
        <translation>Autentíquese con un JWT firmado con %1 (HS256/384/512), enviado como &quot;Authorization: Bearer &lt;jwt&gt;&quot;.
</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Authenticate with a JWT signed by a key of the JWKS at %1, sent as &quot;Authorization: Bearer &lt;jwt&gt;&quot;.
</source>
        <translation>Autentíquese con un JWT firmado por una clave del JWKS en %1, enviado como &quot;Authorization: Bearer &lt;jwt&gt;&quot;.
</translation>
    </message>
    <message>
        <location filename="../ui/guimain.cpp" line="+48"/>
        <source>KV Desk</source>
        <translation>KV Desk</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cannot open the database: %1</source>
        <translation>No se puede abrir la base de datos: %1</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>The server cannot start: %1</source>
        <translation>El servidor no puede iniciarse: %1</translation>
    </message>
</context>
</TS>
