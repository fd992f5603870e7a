// The sales board: drag a card to another column; the move is POSTed with htmx. The
// server answers with the updated card, or refuses (409/422 with a translated message):
// then the message shows and the card goes back where it was.
(() => {
  const board = document.getElementById("sales-board");
  if (!board) return;
  const error = document.getElementById("board-error");
  let dragged = null;
  let origin = null;
  let next = null;

  const putBack = (card) => {
    if (origin) origin.insertBefore(card, next && next.parentNode === origin ? next : null);
  };

  board.addEventListener("dragstart", (event) => {
    dragged = event.target.closest(".sales-card[draggable=true]");
    if (!dragged) return;
    origin = dragged.parentNode;
    next = dragged.nextElementSibling;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.opportunity);
  });

  board.addEventListener("dragover", (event) => {
    if (dragged && event.target.closest("[data-stage]")) event.preventDefault();
  });

  board.addEventListener("drop", (event) => {
    const column = event.target.closest("[data-stage]");
    if (!dragged || !column) return;
    event.preventDefault();
    const card = dragged;
    dragged = null;
    const list = column.querySelector(".sales-column");
    if (list === origin) return;
    const values = { stage_id: column.dataset.stage, version: card.dataset.version };
    if (column.dataset.outcome === "lost") {
      const reason = window.prompt(board.dataset.lostPrompt);
      if (!reason) return;
      values.lost_reason = reason;
    }
    list.prepend(card);
    error.classList.add("d-none");
    htmx.ajax("POST", card.dataset.moveUrl, {
      source: card,
      target: card,
      swap: "outerHTML",
      values,
    });
  });

  // htmx does not swap 4xx answers: show the refusal and undo the optimistic move.
  document.body.addEventListener("htmx:responseError", (event) => {
    const card = event.detail.elt.closest && event.detail.elt.closest(".sales-card");
    if (!card || !board.contains(card)) return;
    error.textContent = event.detail.xhr.responseText;
    error.classList.remove("d-none");
    putBack(card);
  });
})();
