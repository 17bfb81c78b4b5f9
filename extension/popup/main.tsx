/** The popup's entry: mounts the Preact app. The views come with issue 4's popup work. */
import { render } from "preact";

function App() {
  return (
    <main>
      <h1>SECURE-MSG</h1>
    </main>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
