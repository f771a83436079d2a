export function App() {
  return <h1>seedbench-web</h1>;
}
