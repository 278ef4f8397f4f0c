// EditAI's GraphiQL page (graphiql/page.py). A file, not an inline script: the page's
// Content-Security-Policy allows scripts from this origin only.
(function () {
  "use strict";
  var endpoint = window.location.origin + window.location.pathname;
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";

  // @graphiql/toolkit's createGraphiQLFetcher sends the Headers pane as HTTP headers and,
  // with subscriptionUrl, merges the same object into graphql-ws's connectionParams: the
  // connection_init payload, where this server authenticates a WebSocket
  // ({"Authorization": "Bearer …", "X-Profile-Id": "…"}).
  var fetcher = GraphiQL.createFetcher({
    url: endpoint,
    subscriptionUrl: scheme + window.location.host + window.location.pathname,
  });

  // Empty values are as good as absent: anonymous, default profile.
  var headers = JSON.stringify({ Authorization: "", "X-Profile-Id": "" }, null, 2);
  var query =
    "# Headers pane (below): Authorization: Bearer <token>, X-Profile-Id: <profile id>\n" +
    "# (empty for the default profile). Run with Ctrl-Enter.\n" +
    "{\n  currentProfile {\n    name\n  }\n}\n";

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      defaultQuery: query,
      defaultHeaders: headers,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      // A token stays in the page, never in localStorage.
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    })
  );
})();
