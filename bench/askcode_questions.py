"""The question set of `python -m bench.askcode_retrieval`: real repositories and the files that
answer each question.

Built the way SWE-QA-Bench was (Peng et al., "SWE-QA: Can Language Models Answer
Repository-level Code Questions?", arXiv:2509.14635, https://github.com/peng-weihan/SWE-QA):
questions a developer asks about a repository they do not know — what a thing is, why it is
there, where it happens, how it works — in their own words (internal names described, not
named: whoever asks does not know them), each answered from the code and checked by reading it.
The anthropic and requests questions are older and name things more often.
The questions and their answer files are this project's own (none is copied from SWE-QA-Bench).

Every repository is an installed PyPI package (pinned by uv.lock: the `bench` extra adds flask
and pytest), so anyone rebuilds the set offline; paths are relative to the package's folder.
flask and requests are held out: nothing in the selection was tuned on them.
"""

from __future__ import annotations

from dataclasses import dataclass

Question = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class Case:
    """A repository (an installed package, by import name) and its questions."""

    name: str
    package: str
    size: str
    questions: tuple[Question, ...]
    held_out: bool = False


TENACITY = Case(
    "tenacity",
    "tenacity",
    "small",
    (
        (
            "When retrying gives up after the code raised the explicit retry-again exception, "
            "what gets re-raised?",
            ("__init__.py::RetryError.reraise",),
        ),
        (
            "How does the decorator know it wraps a coroutine function and switch to the async "
            "retry loop?",
            ("__init__.py::retry", "_utils.py::is_coroutine_callable"),
        ),
        (
            "How is the exponential backoff delay computed, and what limits it?",
            ("wait.py::wait_exponential",),
        ),
        (
            "What message is logged before sleeping between two attempts?",
            ("before_sleep.py::before_sleep_log",),
        ),
        (
            "How does the time-based stop condition measure the time since the first attempt?",
            ("stop.py::stop_after_delay",),
        ),
        (
            "Which counters does the retry controller keep about attempts and idle time, and "
            "when are they reset?",
            ("__init__.py::BaseRetrying.statistics", "__init__.py::BaseRetrying.begin"),
        ),
        (
            "How does the async retry loop sleep when it runs under trio?",
            ("asyncio/__init__.py::_portable_async_sleep",),
        ),
        (
            "Can the wait between attempts depend on the exception raised, and how?",
            ("wait.py::wait_exception",),
        ),
    ),
)
JSONSCHEMA = Case(
    "jsonschema",
    "jsonschema",
    "mid, with tests",
    (
        (
            "When validation finds many errors, how is the single most relevant one chosen?",
            ("exceptions.py::best_match", "exceptions.py::by_relevance"),
        ),
        (
            "How does the library pick which draft's validator to use for a schema?",
            ("validators.py::validator_for",),
        ),
        (
            "Why are 1 and true not duplicates when array items must be unique?",
            ("_keywords.py::uniqueItems", "_utils.py::uniq", "_utils.py::equal"),
        ),
        (
            "How are the object properties not covered by the listed properties or patterns "
            "found and reported?",
            ("_keywords.py::additionalProperties", "_utils.py::find_additional_properties"),
        ),
        (
            "Why is 1.0 an integer in draft 6 but not in draft 4?",
            ("_types.py::is_integer", "_types.py::draft6_type_checker"),
        ),
        (
            "How are format checks that need optional third-party packages registered only when "
            "those packages are installed?",
            ("_format.py::_checks_drafts",),
        ),
        (
            "How does the command line tool print validation errors in its pretty and plain "
            "outputs?",
            ("cli.py::_PrettyFormatter", "cli.py::_PlainFormatter"),
        ),
        (
            "How is the old draft 3 keyword for inheriting from another schema validated?",
            ("_legacy_keywords.py::extends_draft3",),
        ),
        (
            "How do I make a validator class that adds a custom keyword to an existing draft?",
            ("validators.py::extend",),
        ),
        (
            "Where do the tests find the official JSON Schema test suite, and how do they turn "
            "its files into test cases?",
            ("tests/_suite.py::_find_suite", "tests/_suite.py::Version.to_unittest_testcase"),
        ),
        (
            "How can errors be looked up as a tree keyed by the path into the instance?",
            ("exceptions.py::ErrorTree",),
        ),
    ),
)
CLICK = Case(
    "click",
    "click",
    "mid",
    (
        (
            "How is an option's environment variable name derived from the program's prefix?",
            ("core.py::Option.resolve_envvar_value",),
        ),
        (
            "How does an environment variable set at startup trigger shell tab completion?",
            ("core.py::Command._main_shell_completion", "shell_completion.py::shell_complete"),
        ),
        (
            "How does the test runner capture what a command prints and its exit code?",
            ("testing.py::CliRunner.invoke",),
        ),
        (
            "Where does the per-user application config folder go on macOS and Windows?",
            ("utils.py::get_app_dir",),
        ),
        (
            "How does printing decide to strip ANSI color codes when the output is not a terminal?",
            ("utils.py::echo", "_compat.py::should_strip_ansi"),
        ),
        (
            "How do case-insensitive choices match the value the user typed?",
            ("types.py::Choice.normalize_choice",),
        ),
        (
            "How are several single-letter flags after one dash parsed?",
            ("parser.py::_OptionParser._match_short_opt",),
        ),
        (
            "What exit code does a command line usage error give, and how is its message shown?",
            ("exceptions.py::UsageError",),
        ),
        (
            "Which text editor is opened when the program asks the user to edit text?",
            ("_termui_impl.py::Editor.get_editor",),
        ),
        (
            "How does the progress bar estimate the time remaining?",
            ("_termui_impl.py::ProgressBar.eta", "_termui_impl.py::ProgressBar.make_step"),
        ),
        (
            "How does the version option find the installed version of the package by itself?",
            ("decorators.py::version_option",),
        ),
        (
            "What happens to an out-of-range number when the integer range type is told to clamp?",
            ("types.py::_NumberRangeBase.convert", "types.py::IntRange._clamp"),
        ),
    ),
)
JINJA2 = Case(
    "jinja2",
    "jinja2",
    "mid",
    (
        (
            "How does the sandboxed environment decide that an attribute is unsafe to access?",
            (
                "sandbox.py::is_internal_attribute",
                "sandbox.py::SandboxedEnvironment.is_safe_attribute",
            ),
        ),
        (
            "How does the filesystem template loader notice that a template file changed on disk?",
            ("loaders.py::FileSystemLoader.get_source",),
        ),
        (
            "How does the compiled-template cache name its files on disk and notice a changed "
            "source?",
            ("bccache.py::BytecodeCache.get_cache_key", "bccache.py::Bucket.load_bytecode"),
        ),
        (
            "How is the whitespace before a block tag removed when left-stripping is on?",
            ("lexer.py::L727-L756",),
        ),
        (
            "What happens when a template prints or iterates an undefined variable in strict mode?",
            ("runtime.py::StrictUndefined",),
        ),
        (
            "How does the loop variable know how many items are left?",
            ("runtime.py::LoopContext.revindex0", "runtime.py::LoopContext.length"),
        ),
        (
            "How is autoescaping turned on by the template's file extension?",
            ("utils.py::select_autoescape",),
        ),
        (
            "How does the internationalization extension parse translatable blocks with plural "
            "forms?",
            ("ext.py::InternationalizationExtension.parse",),
        ),
        (
            "How does the filter that turns URLs in text into links work?",
            ("filters.py::do_urlize", "utils.py::urlize"),
        ),
        (
            "How are loaded templates cached so that they are not compiled again?",
            ("environment.py::Environment._load_template", "utils.py::LRUCache"),
        ),
        (
            "How can rendering return native Python values instead of a string?",
            ("nativetypes.py::native_concat",),
        ),
    ),
)
AIOHTTP = Case(
    "aiohttp",
    "aiohttp",
    "large",
    (
        (
            "How does the TCP connector cache DNS lookups, and when do they expire?",
            ("connector.py::_DNSCacheTable", "connector.py::TCPConnector._resolve_host"),
        ),
        (
            "When does the client session give up following redirects?",
            ("client.py::L940-L955",),
        ),
        (
            "How does the client pick up HTTP proxies from environment variables?",
            (
                "client.py::L808-L820",
                "helpers.py::get_env_proxy_for_url",
                "helpers.py::proxies_from_env",
            ),
        ),
        (
            "How does the server's router match a URL path with variable parts like /users/{id}?",
            ("web_urldispatcher.py::DynamicResource",),
        ),
        (
            "How can the server redirect requests whose path lacks a trailing slash?",
            ("web_middlewares.py::normalize_path_middleware",),
        ),
        (
            "How does serving a static file handle partial-content and conditional requests?",
            (
                "web_fileresponse.py::FileResponse._make_response",
                "web_fileresponse.py::FileResponse._prepare_open_file",
            ),
        ),
        (
            "How does the client decide which stored cookies to send to a URL?",
            ("cookiejar.py::CookieJar.filter_cookies",),
        ),
        (
            "What happens when the server process gets Ctrl+C: how does it shut down gracefully?",
            ("web.py::run_app", "web_runner.py::BaseRunner.setup"),
        ),
        (
            "How are fragmented websocket messages reassembled when reading?",
            ("_websocket/reader_py.py::WebSocketReader._handle_frame",),
        ),
        (
            "How is a Basic Authorization header decoded into a user and password?",
            ("helpers.py::BasicAuth.decode",),
        ),
        (
            "How does digest authentication compute the hashed response to the server's challenge?",
            ("client_middleware_digest_auth.py::DigestAuthMiddleware._encode",),
        ),
        (
            "How is the access log line formatted, e.g. the remote address and the request time?",
            ("web_log.py::AccessLogger.compile_format", "web_log.py::AccessLogger._format_t"),
        ),
    ),
)
PYTEST = Case(
    "_pytest",
    "_pytest",
    "large",
    (
        (
            "How does pytest rewrite assert statements so that failures show intermediate values?",
            ("assertion/rewrite.py::AssertionRewriter.visit_Assert",),
        ),
        (
            "How does pytest find the rootdir and the config file?",
            ("config/findpaths.py::determine_setup", "config/findpaths.py::locate_config"),
        ),
        (
            "How is the expression given to -k parsed and matched against test names?",
            (
                "mark/expression.py::Expression.compile",
                "mark/__init__.py::KeywordMatcher.from_item",
            ),
        ),
        (
            "How does pytest remember which tests failed in the last run?",
            (
                "cacheprovider.py::LFPlugin.pytest_runtest_logreport",
                "cacheprovider.py::LFPlugin.pytest_sessionfinish",
            ),
        ),
        (
            "What tolerance is used by default when floating point numbers are compared "
            "approximately?",
            ("approx.py::ApproxScalar.tolerance",),
        ),
        (
            "How does pytest order tests so that module- or session-level fixtures are set up "
            "fewer times?",
            ("fixtures.py::reorder_items_atscope",),
        ),
        (
            "How does patching an attribute given as a dotted import path string find its target?",
            ("monkeypatch.py::derive_importpath", "monkeypatch.py::resolve"),
        ),
        (
            "How are the temporary directories of earlier runs cleaned up, and how many are kept?",
            (
                "tmpdir.py::TempPathFactory.getbasetemp",
                "pathlib.py::make_numbered_dir_with_cleanup",
            ),
        ),
        (
            "How is a skip condition written as a string evaluated?",
            ("skipping.py::evaluate_condition",),
        ),
        (
            "How is the exception message checked against a regular expression when asserting "
            "that code raises?",
            ("raises.py::AbstractRaises._check_match",),
        ),
        (
            "How does the JUnit XML report deal with characters that are invalid in XML?",
            ("junitxml.py::bin_xml_escape",),
        ),
        (
            "How are the ids of parametrized tests made from the parameter values?",
            ("python.py::IdMaker._idval", "python.py::IdMaker._idval_from_value"),
        ),
    ),
)
ANTHROPIC = Case(
    "anthropic",
    "anthropic",
    "very large",
    (
        (
            "When does the client retry on the x-should-retry header?",
            ("_base_client.py::BaseClient._should_retry",),
        ),
        (
            "How is the retry delay calculated from retry-after?",
            (
                "_base_client.py::BaseClient._calculate_retry_timeout",
                "_base_client.py::BaseClient._parse_retry_after_header",
            ),
        ),
        ("What is the default timeout of a request?", ("_constants.py::DEFAULT_TIMEOUT",)),
        (
            "Where is ANTHROPIC_API_KEY read from the environment?",
            ("_client.py::static_credential_from_env",),
        ),
        (
            "How does SSEDecoder decode server-sent event lines?",
            ("_streaming.py::SSEDecoder.decode",),
        ),
        (
            "Which exception class stands for an overloaded API (529)?",
            ("_exceptions.py::OverloadedError",),
        ),
        (
            "How does the message stream accumulate text_delta events?",
            ("lib/streaming/_messages.py::accumulate_event",),
        ),
        (
            "How does messages.count_tokens send its request?",
            ("resources/messages/messages.py::Messages.count_tokens",),
        ),
        (
            "How does the beta Files API upload a file?",
            ("resources/beta/files.py::Files.upload",),
        ),
        (
            "How is the Authorization Bearer header built from the API key?",
            ("_client.py::Anthropic._api_key_auth",),
        ),
        (
            "How does the Bedrock client infer the AWS region?",
            ("lib/bedrock/_client.py::_infer_region",),
        ),
        (
            "How does the Vertex client get a Google access token?",
            ("lib/vertex/_client.py::AnthropicVertex._ensure_access_token",),
        ),
        (
            "How does the beta tool runner pick the next step from the stop reason?",
            ("lib/tools/_beta_runner.py::_determine_next_step_from_stop_reason",),
        ),
        (
            "How does the refusal fallback middleware retry refused requests?",
            ("lib/middleware/_fallbacks.py::BetaRefusalFallbackMiddleware.handle",),
        ),
    ),
)
# Held out: written before any change to the selection, and never used to tune it.
FLASK = Case(
    "flask",
    "flask",
    "mid",
    (
        (
            "How is the session cookie signed, and with which salt and hash?",
            ("sessions.py::SecureCookieSessionInterface.get_signing_serializer",),
        ),
        (
            "How does the command line find the application when none is specified?",
            ("cli.py::ScriptInfo.load_app",),
        ),
        (
            "How are configuration values read from prefixed environment variables and converted?",
            ("config.py::Config.from_prefixed_env",),
        ),
        (
            "How does the session serializer keep tuples, bytes and datetimes through JSON?",
            ("json/tag.py::TagTuple", "json/tag.py::TagBytes", "json/tag.py::TagDateTime"),
        ),
        (
            "How is an absolute external URL built for an endpoint?",
            ("helpers.py::url_for", "app.py::Flask.url_for"),
        ),
        (
            "How does a class-based view dispatch a request to the method named after the HTTP "
            "verb?",
            ("views.py::MethodView.dispatch_request",),
        ),
        (
            "How are a blueprint's URL prefix and subdomain applied to the routes it registers?",
            (
                "sansio/blueprints.py::BlueprintSetupState.add_url_rule",
                "sansio/blueprints.py::BlueprintSetupState.__init__",
            ),
        ),
        (
            "What happens when a view returns a tuple of body, status and headers?",
            ("app.py::Flask.make_response",),
        ),
        (
            "How are templates found in the template folders of blueprints?",
            (
                "templating.py::DispatchingJinjaLoader._iter_loaders",
                "templating.py::DispatchingJinjaLoader._get_source_fast",
            ),
        ),
        (
            "How does the application context handle the g object and the teardown functions?",
            ("ctx.py::AppContext.pop", "app.py::Flask.do_teardown_appcontext"),
        ),
        (
            "How is the maximum size of a request body enforced?",
            ("wrappers.py::Request.max_content_length",),
        ),
        (
            "Where is the default log handler attached to the application's logger?",
            ("logging.py::create_logger",),
        ),
        (
            "How is the cache max age of sent files chosen by default?",
            ("app.py::Flask.get_send_file_max_age",),
        ),
    ),
    held_out=True,
)
REQUESTS = Case(
    "requests",
    "requests",
    "small",
    (
        (
            "Which exception is raised after too many redirects?",
            ("sessions.py::SessionRedirectMixin.resolve_redirects",),
        ),
        (
            "How are proxies picked from environment variables?",
            ("utils.py::get_environ_proxies", "utils.py::should_bypass_proxies"),
        ),
        ("What is the default User-Agent header?", ("utils.py::default_user_agent",)),
        ("How are HTTP basic auth credentials encoded?", ("auth.py::_basic_auth_str",)),
        ("What names does status code 418 have?", ("status_codes.py::L77-L77",)),
        (
            "How does HTTPAdapter configure max_retries?",
            ("adapters.py::HTTPAdapter.__init__",),
        ),
        (
            "How are session cookies merged with request cookies?",
            ("cookies.py::merge_cookies", "sessions.py::Session.prepare_request"),
        ),
        (
            "What does raise_for_status do for a 404?",
            ("models.py::Response.raise_for_status",),
        ),
        (
            "How does CaseInsensitiveDict compare keys?",
            ("structures.py::CaseInsensitiveDict",),
        ),
        ("Where is the package version defined?", ("__version__.py::__version__",)),
    ),
    held_out=True,
)
CASES = (TENACITY, JSONSCHEMA, CLICK, JINJA2, AIOHTTP, PYTEST, ANTHROPIC, FLASK, REQUESTS)
